package authz

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/steward-nhi/steward"
)

// TestFile is a file of policy test cases: request → expected decision,
// with optional entities (Cedar JSON; type nhi allowed, to stand for
// Steward identities offline).
type TestFile struct {
	Entities json.RawMessage `json:"entities,omitempty"`
	Cases    []TestCase      `json:"cases"`
}

// TestCase is one request and the decision it must get; Policies, when
// given, must equal the determining policy ids.
type TestCase struct {
	Name     string   `json:"name"`
	Request  Request  `json:"request"`
	Decision bool     `json:"decision"`
	Policies []string `json:"policies,omitempty"`
}

// TestResult is the outcome of one case.
type TestResult struct {
	Name     string   `json:"name"`
	Pass     bool     `json:"pass"`
	Want     bool     `json:"want"`
	Got      bool     `json:"got"`
	Policies []string `json:"policies"`
	Errors   []string `json:"errors,omitempty"`
	Problem  string   `json:"problem,omitempty"`
}

// ParseTestFile reads a test file: an object with entities and cases, or
// a bare array of cases.
func ParseTestFile(b []byte) (*TestFile, error) {
	var tf TestFile
	trimmed := bytes.TrimSpace(b)
	if len(trimmed) > 0 && trimmed[0] == '[' {
		if err := DecodeBytes(trimmed, &tf.Cases); err != nil {
			return nil, err
		}
		return &tf, nil
	}
	if err := DecodeBytes(trimmed, &tf); err != nil {
		return nil, err
	}
	return &tf, nil
}

// TestEntities returns the test file's entities for Compile.
func (tf *TestFile) TestEntities() ([]steward.AuthzEntity, error) {
	if len(tf.Entities) == 0 {
		return nil, nil
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(tf.Entities, &raw); err != nil {
		return nil, steward.FieldError("entities", "must be a JSON array of Cedar entities")
	}
	var out []steward.AuthzEntity
	for i, r := range raw {
		var head struct {
			UID struct{ Type, ID string } `json:"uid"`
		}
		if err := json.Unmarshal(r, &head); err != nil || head.UID.Type == "" || head.UID.ID == "" {
			return nil, steward.FieldError(fmt.Sprintf("entities[%d].uid", i), "needs a type and an id")
		}
		out = append(out, steward.AuthzEntity{Type: head.UID.Type, ID: head.UID.ID, Doc: r})
	}
	return out, nil
}

// RunTests evaluates every case against eng (policies only: the runtime
// guard needs the live inventory).
func RunTests(eng *Engine, cases []TestCase) []TestResult {
	out := make([]TestResult, 0, len(cases))
	for n, c := range cases {
		name := c.Name
		if name == "" {
			name = fmt.Sprintf("case %d", n+1)
		}
		res := TestResult{Name: name, Want: c.Decision, Policies: []string{}}
		got, diag, err := eng.Decide(&c.Request, nil)
		if err != nil {
			res.Problem = steward.ErrorMessage(err)
			out = append(out, res)
			continue
		}
		res.Got = got
		for _, r := range diag.Reasons {
			res.Policies = append(res.Policies, string(r.PolicyID))
		}
		for _, e := range diag.Errors {
			res.Errors = append(res.Errors, string(e.PolicyID)+": "+e.Message)
		}
		res.Pass = got == c.Decision
		if res.Pass && c.Policies != nil {
			want := slices.Clone(c.Policies)
			slices.Sort(want)
			have := slices.Clone(res.Policies)
			slices.Sort(have)
			if !slices.Equal(want, have) {
				res.Pass = false
				res.Problem = fmt.Sprintf("determining policies %v, want %v", have, want)
			}
		}
		out = append(out, res)
	}
	return out
}

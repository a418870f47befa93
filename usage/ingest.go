package usage

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/internal/ids"
)

// Formats lists the ingest formats.
var Formats = []string{"jsonl", "cloudtrail", "vault", "openbao", "opa", "gateway"}

// IngestOptions tune an ingest.
type IngestOptions struct {
	// Fields maps the generic gateway format's fields (time, subject,
	// credential, action, resource, source, user_agent, outcome) to the
	// log's field names; dots reach into nested objects.
	Fields map[string]string
	// Provider is used to match subjects by (provider, external ref).
	Provider string
}

// IngestError is one rejected record.
type IngestError struct {
	Line    int    `json:"line"`
	Message string `json:"message"`
}

// IngestSummary reports an ingest.
type IngestSummary struct {
	Format   string        `json:"format"`
	Records  int           `json:"records"`
	Accepted int           `json:"accepted"`
	Matched  int           `json:"matched"`
	Unknown  int           `json:"unknown"`
	Rejected int           `json:"rejected"`
	Errors   []IngestError `json:"errors"`
}

// MaxIngestErrors bounds the errors a summary lists.
const MaxIngestErrors = 100

// record is a parsed log record before identity matching.
type record struct {
	ev steward.UsageEvent
	// refs to try, in order: credential external refs, identity ids,
	// (provider, external ref) pairs.
	credRefs []string
	idents   []string
	provRefs [][2]string
}

// Ingest reads a log in format and records its events against identities;
// events matching no identity are kept as unknown callers. Bad records are
// rejected and listed; the good ones are written.
func (s *Service) Ingest(ctx context.Context, format string, r io.Reader, opts IngestOptions) (*IngestSummary, error) {
	p := steward.PrincipalFrom(ctx)
	if p == nil {
		return nil, steward.Errorf(steward.EUNAUTHORIZED, "authentication required")
	}
	if p.IsNHI() || !(p.Role == steward.RoleAdmin || p.Role == steward.RoleOperator) {
		return nil, steward.Errorf(steward.EFORBIDDEN, "only admin and operator tokens may ingest usage")
	}
	var parse func(line int, raw map[string]any) ([]record, error)
	switch format {
	case "jsonl":
		parse = parseJSONL
	case "cloudtrail":
		parse = parseCloudTrail
	case "vault", "openbao":
		parse = parseVault
	case "opa":
		parse = parseOPA
	case "gateway":
		if opts.Fields["subject"] == "" && opts.Fields["credential"] == "" {
			return nil, steward.FieldError("subject_field", "the gateway format needs the name of the subject or credential field")
		}
		parse = func(line int, raw map[string]any) ([]record, error) { return parseGateway(raw, opts.Fields) }
	default:
		return nil, steward.FieldError("format", "%q is not one of %s", format, strings.Join(Formats, ", "))
	}
	sum := &IngestSummary{Format: format, Errors: []IngestError{}}
	reject := func(line int, err error) {
		sum.Rejected++
		if len(sum.Errors) < MaxIngestErrors {
			sum.Errors = append(sum.Errors, IngestError{Line: line, Message: steward.ErrorMessage(err)})
		}
	}
	var batch []steward.UsageEvent
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := s.cfg.Pipeline.IngestUsage(ctx, batch)
		batch = batch[:0]
		return err
	}
	err := eachObject(r, func(line int, raw map[string]any) error {
		recs, err := parse(line, raw)
		if err != nil {
			sum.Records++
			reject(line, err)
			return nil
		}
		for _, rec := range recs {
			sum.Records++
			if err := s.match(ctx, &rec, opts.Provider); err != nil {
				return err
			}
			ev := rec.ev
			ev.Kind = steward.UsageIngest
			if ev.Time.IsZero() {
				ev.Time = s.cfg.Clock.Now()
			}
			ev.Time = ev.Time.UTC().Truncate(time.Microsecond)
			if ev.ID == "" {
				ev.ID = ids.New("use_", ev.Time)
			}
			if ev.Attributes == nil {
				ev.Attributes = map[string]string{}
			}
			ev.Attributes["format"] = format
			if ev.IdentityID != "" {
				sum.Matched++
			} else {
				sum.Unknown++
			}
			sum.Accepted++
			batch = append(batch, ev)
			if len(batch) >= 500 {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return sum, err
	}
	return sum, flush()
}

// match links a record to an identity by credential ref, identity id or
// (provider, external ref); otherwise it stays an unknown caller.
func (s *Service) match(ctx context.Context, rec *record, provider string) error {
	ev := &rec.ev
	// A reference with NUL bytes or invalid UTF-8 names nothing Steward
	// keeps (and PostgreSQL refuses it as a query argument).
	clean := func(ref string) bool { return ref != "" && !dirty(ref) }
	if s.cfg.Credentials != nil {
		c, err := firstFound(rec.credRefs, clean, func(ref string) (*steward.Credential, error) {
			return s.cfg.Credentials.FindCredentialByExternalRef(ctx, ref)
		})
		if err != nil || c != nil {
			if c != nil {
				ev.IdentityID, ev.CredentialID = c.IdentityID, c.ID
			}
			return err
		}
	}
	i, err := firstFound(rec.idents, clean, func(id string) (*steward.Identity, error) {
		return s.cfg.Inventory.GetIdentity(ctx, id)
	})
	if err == nil && i == nil {
		refs := rec.provRefs
		if provider != "" && ev.Subject != "" {
			refs = append(refs, [2]string{provider, ev.Subject})
		}
		i, err = firstFound(refs, func(pr [2]string) bool { return pr[1] != "" && !dirty(pr[0]) && !dirty(pr[1]) },
			func(pr [2]string) (*steward.Identity, error) {
				return s.cfg.Inventory.FindIdentityByRef(ctx, pr[0], pr[1])
			})
	}
	if err != nil {
		return err
	}
	if i != nil {
		ev.IdentityID, ev.Environment = i.ID, i.Environment
		return nil
	}
	ev.IdentityID = ""
	if ev.Outcome == "" {
		ev.Outcome = "unknown"
	}
	return nil
}

// firstFound returns what find returns for the first of keys that use
// accepts and find finds, or nil when none is found; an error other than
// ENOTFOUND ends the search.
func firstFound[K any, V any](keys []K, use func(K) bool, find func(K) (*V, error)) (*V, error) {
	for _, k := range keys {
		if !use(k) {
			continue
		}
		v, err := find(k)
		if steward.ErrorCode(err) == steward.ENOTFOUND {
			continue
		}
		return v, err
	}
	return nil, nil
}

// eachObject calls fn for every JSON object of r: JSON lines, one object,
// an array of objects, or an object with an array under "Records" (the
// CloudTrail file format).
func eachObject(r io.Reader, fn func(line int, raw map[string]any) error) error {
	br := bufio.NewReader(r)
	first, err := peekNonSpace(br)
	if err == io.EOF {
		return nil
	}
	if err != nil {
		return err
	}
	if first == '[' {
		var arr []map[string]any
		dec := json.NewDecoder(br)
		dec.UseNumber()
		if err := dec.Decode(&arr); err != nil {
			return steward.Errorf(steward.EINVALID, "body is not a JSON array of objects: %s", strings.TrimPrefix(err.Error(), "json: "))
		}
		for i, o := range arr {
			if err := fn(i+1, o); err != nil {
				return err
			}
		}
		return nil
	}
	line := 0
	sc := bufio.NewScanner(br)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	var whole bytes.Buffer // a pretty-printed single document spans lines
	seen, multi := false, false
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		if first := whole.Len() == 0 && !seen; first {
			multi = !json.Valid(b)
		}
		seen = true
		if multi {
			whole.Write(b)
			whole.WriteByte('\n')
			continue
		}
		if err := fnObject(line, b, fn); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return steward.Errorf(steward.EINVALID, "read body: %s", err)
	}
	if whole.Len() > 0 {
		return fnObject(1, whole.Bytes(), fn)
	}
	return nil
}

func fnObject(line int, b []byte, fn func(int, map[string]any) error) error {
	var o map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&o); err != nil {
		return fn(line, map[string]any{"__error": fmt.Sprintf("not a JSON object: %s", strings.TrimPrefix(err.Error(), "json: "))})
	}
	if recs, ok := o["Records"].([]any); ok {
		for i, r := range recs {
			m, _ := r.(map[string]any)
			if m == nil {
				m = map[string]any{"__error": "record is not an object"}
			}
			if err := fn(i+1, m); err != nil {
				return err
			}
		}
		return nil
	}
	return fn(line, o)
}

func peekNonSpace(br *bufio.Reader) (byte, error) {
	for {
		b, err := br.Peek(1)
		if err != nil {
			return 0, err
		}
		switch b[0] {
		case ' ', '\t', '\r', '\n':
			_, _ = br.ReadByte()
			continue
		}
		return b[0], nil
	}
}

// get returns the string at a dotted path of raw ("" when absent).
func get(raw map[string]any, path string) string {
	var cur any = raw
	for _, part := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return ""
		}
		cur = m[part]
	}
	switch v := cur.(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		if v {
			return "true"
		}
		return "false"
	case nil:
		return ""
	}
	b, _ := json.Marshal(cur)
	return string(b)
}

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02 15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, steward.FieldError("time", "%q is not an RFC 3339 time", s)
}

func errorOf(raw map[string]any) error {
	if e, ok := raw["__error"].(string); ok {
		return steward.Errorf(steward.EINVALID, "%s", e)
	}
	return nil
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// parseJSONL reads Steward's own usage event JSON.
func parseJSONL(_ int, raw map[string]any) ([]record, error) {
	if err := errorOf(raw); err != nil {
		return nil, err
	}
	t, err := parseTime(get(raw, "time"))
	if err != nil {
		return nil, err
	}
	ev := steward.UsageEvent{Time: t, Subject: clip(get(raw, "subject"), 512), Action: clip(get(raw, "action"), 512),
		Resource: clip(get(raw, "resource"), 1024), Source: clip(get(raw, "source"), 64), UserAgent: clip(get(raw, "user_agent"), 256),
		Outcome: clip(get(raw, "outcome"), 32), Reason: clip(get(raw, "reason"), 1000)}
	identity, cred := get(raw, "identity_id"), get(raw, "credential_id")
	if identity == "" && ev.Subject == "" && cred == "" {
		return nil, steward.FieldError("subject", "one of identity_id, credential_id or subject is required")
	}
	if ev.Subject == "" {
		ev.Subject = identity
		if ev.Subject == "" {
			ev.Subject = cred
		}
	}
	if attrs, ok := raw["attributes"].(map[string]any); ok {
		ev.Attributes = map[string]string{}
		for k, v := range attrs {
			ev.Attributes[clip(k, 64)] = clip(get(map[string]any{"v": v}, "v"), 512)
		}
	}
	return []record{{ev: ev, credRefs: []string{cred}, idents: []string{identity, ev.Subject}}}, nil
}

// parseCloudTrail reads one CloudTrail event: the caller by access key id
// (a credential's external ref) or by ARN (an aws identity's external ref).
func parseCloudTrail(_ int, raw map[string]any) ([]record, error) {
	if err := errorOf(raw); err != nil {
		return nil, err
	}
	name := get(raw, "eventName")
	if name == "" {
		return nil, steward.FieldError("eventName", "is required in a CloudTrail event")
	}
	t, err := parseTime(get(raw, "eventTime"))
	if err != nil {
		return nil, err
	}
	svc := strings.TrimSuffix(get(raw, "eventSource"), ".amazonaws.com")
	key, arn := get(raw, "userIdentity.accessKeyId"), get(raw, "userIdentity.arn")
	ev := steward.UsageEvent{Time: t, Action: clip(svc+":"+name, 512), Source: clip(get(raw, "sourceIPAddress"), 64),
		UserAgent: clip(get(raw, "userAgent"), 256), Outcome: "ok", Attributes: map[string]string{}}
	ev.Subject = arn
	if ev.Subject == "" {
		ev.Subject = key
	}
	if res, ok := raw["resources"].([]any); ok && len(res) > 0 {
		if m, ok := res[0].(map[string]any); ok {
			ev.Resource = clip(get(m, "ARN"), 1024)
		}
	}
	if code := get(raw, "errorCode"); code != "" {
		ev.Outcome, ev.Reason = "error", clip(code+": "+get(raw, "errorMessage"), 1000)
		if strings.Contains(code, "AccessDenied") || strings.Contains(code, "Unauthorized") {
			ev.Outcome = "deny"
		}
	}
	if id := get(raw, "eventID"); id != "" {
		ev.Attributes["event_id"] = clip(id, 128)
	}
	if reg := get(raw, "awsRegion"); reg != "" {
		ev.Attributes["region"] = clip(reg, 64)
	}
	return []record{{ev: ev, credRefs: []string{key}, provRefs: [][2]string{{"aws", arn}}}}, nil
}

// parseVault reads one Vault or OpenBao audit log entry (responses only,
// so each call counts once): the caller by token accessor or entity id.
func parseVault(_ int, raw map[string]any) ([]record, error) {
	if err := errorOf(raw); err != nil {
		return nil, err
	}
	if typ := get(raw, "type"); typ == "request" {
		return nil, nil
	}
	t, err := parseTime(get(raw, "time"))
	if err != nil {
		return nil, err
	}
	accessor, entity := get(raw, "auth.accessor"), get(raw, "auth.entity_id")
	ev := steward.UsageEvent{Time: t, Action: clip(get(raw, "request.operation"), 512), Resource: clip(get(raw, "request.path"), 1024),
		Source: clip(get(raw, "request.remote_address"), 64), Outcome: "ok", Attributes: map[string]string{}}
	ev.Subject = get(raw, "auth.display_name")
	if ev.Subject == "" {
		ev.Subject = entity
	}
	if ev.Subject == "" {
		ev.Subject = accessor
	}
	if ev.Action == "" && ev.Resource == "" {
		return nil, steward.FieldError("request", "a Vault audit entry needs request.operation or request.path")
	}
	if e := get(raw, "error"); e != "" {
		ev.Outcome, ev.Reason = "error", clip(e, 1000)
		if strings.Contains(e, "permission denied") {
			ev.Outcome = "deny"
		}
	}
	if id := get(raw, "request.id"); id != "" {
		ev.Attributes["request_id"] = clip(id, 128)
	}
	return []record{{ev: ev, credRefs: []string{accessor}, provRefs: [][2]string{{"vault", entity}, {"vault", accessor}}}}, nil
}

// parseOPA reads one OPA decision log entry; AuthZEN-shaped input
// ({subject,action,resource}) or common fields (user, principal, method,
// path) name the caller and the call.
func parseOPA(_ int, raw map[string]any) ([]record, error) {
	if err := errorOf(raw); err != nil {
		return nil, err
	}
	t, err := parseTime(get(raw, "timestamp"))
	if err != nil {
		return nil, err
	}
	first := func(paths ...string) string {
		for _, p := range paths {
			if v := get(raw, p); v != "" {
				return v
			}
		}
		return ""
	}
	ev := steward.UsageEvent{Time: t, Attributes: map[string]string{}}
	ev.Subject = clip(first("input.subject.id", "input.user", "input.principal", "input.subject"), 512)
	if ev.Subject == "" {
		return nil, steward.FieldError("input.subject", "an OPA decision needs input.subject.id, input.user or input.principal")
	}
	ev.Action = clip(first("input.action.name", "input.action", "input.method"), 512)
	ev.Resource = first("input.resource.id", "input.path", "input.resource")
	if rt := get(raw, "input.resource.type"); rt != "" {
		ev.Resource = rt + ":" + ev.Resource
	}
	ev.Resource = clip(ev.Resource, 1024)
	ev.Source = clip(first("input.context.ip", "input.source_ip"), 64)
	switch res := raw["result"].(type) {
	case bool:
		ev.Outcome = map[bool]string{true: "allow", false: "deny"}[res]
	case map[string]any:
		if a, ok := res["allow"].(bool); ok {
			ev.Outcome = map[bool]string{true: "allow", false: "deny"}[a]
		} else if d, ok := res["decision"].(bool); ok {
			ev.Outcome = map[bool]string{true: "allow", false: "deny"}[d]
		}
	}
	if id := get(raw, "decision_id"); id != "" {
		ev.Attributes["decision_id"] = clip(id, 128)
	}
	if p := get(raw, "path"); p != "" {
		ev.Attributes["policy_path"] = clip(p, 256)
	}
	return []record{{ev: ev, idents: []string{ev.Subject}, credRefs: []string{ev.Subject}}}, nil
}

// parseGateway reads a generic JSON access log record with configured
// field names.
func parseGateway(raw map[string]any, fields map[string]string) ([]record, error) {
	if err := errorOf(raw); err != nil {
		return nil, err
	}
	f := func(k string) string {
		if name := fields[k]; name != "" {
			return get(raw, name)
		}
		return ""
	}
	t, err := parseTime(f("time"))
	if err != nil {
		return nil, err
	}
	ev := steward.UsageEvent{Time: t, Subject: clip(f("subject"), 512), Action: clip(f("action"), 512), Resource: clip(f("resource"), 1024),
		Source: clip(f("source"), 64), UserAgent: clip(f("user_agent"), 256), Outcome: clip(f("outcome"), 32)}
	cred := f("credential")
	if ev.Subject == "" && cred == "" {
		return nil, steward.FieldError(fields["subject"], "the record has no subject or credential")
	}
	if ev.Subject == "" {
		ev.Subject = cred
	}
	return []record{{ev: ev, credRefs: []string{cred, ev.Subject}, idents: []string{ev.Subject}}}, nil
}

// Package github reads GitHub organisation exports: fine-grained personal
// access token grants and GitHub App installations.
package github

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/importer/internal/kit"
)

// account is the subset of a GitHub user or organisation that Parse reads.
type account struct {
	Login string `json:"login"`
	Type  string `json:"type"`
}

// patGrant is one item of GET /orgs/{org}/personal-access-tokens.
type patGrant struct {
	ID                  *int64                       `json:"id"`
	Owner               *account                     `json:"owner"`
	RepositorySelection string                       `json:"repository_selection"`
	Permissions         map[string]map[string]string `json:"permissions"`
	AccessGrantedAt     *string                      `json:"access_granted_at"`
	TokenExpired        bool                         `json:"token_expired"`
	TokenExpiresAt      *string                      `json:"token_expires_at"`
	TokenID             *int64                       `json:"token_id"`
	TokenName           string                       `json:"token_name"`
	TokenLastUsedAt     *string                      `json:"token_last_used_at"`
}

// ParsePATGrants reads the JSON array of fine-grained PAT grants: one
// identity of kind pat per token.
func ParsePATGrants(r io.Reader) (kit.Result, error) {
	data, err := kit.ReadAll(r)
	if err != nil {
		return kit.Result{}, err
	}
	elems, single, err := kit.JSONArray(data)
	if err != nil {
		return kit.Result{}, err
	}
	if single {
		return kit.Result{}, kit.Invalid(elems[0].Line, "expected a JSON array of personal access token grants (GET /orgs/{org}/personal-access-tokens), got an object")
	}
	return kit.Records(elems, patRecord), nil
}

func patRecord(g *patGrant) (steward.ImportRecord, string, error) {
	var ref string
	switch {
	case g.TokenID != nil:
		ref = "pat:" + strconv.FormatInt(*g.TokenID, 10)
	case g.ID != nil:
		ref = "pat:" + strconv.FormatInt(*g.ID, 10)
	default:
		return steward.ImportRecord{}, "token_id", fmt.Errorf("is missing (and so is id)")
	}
	name := strings.TrimSpace(g.TokenName)
	if name == "" {
		name = ref
	}
	id := kit.NewIdentity(steward.KindPAT, "github", ref, name)
	rec := steward.ImportRecord{Identity: id}
	if g.Owner != nil && g.Owner.Login != "" {
		id.Labels["github_owner"] = g.Owner.Login
	}
	if g.ID != nil {
		id.Labels["github_grant_id"] = strconv.FormatInt(*g.ID, 10)
	}
	if g.RepositorySelection != "" {
		id.Labels["repository_selection"] = g.RepositorySelection
	}
	for group, perms := range g.Permissions {
		for perm, level := range perms {
			if level != "" {
				id.Scopes = append(id.Scopes, group+":"+perm+":"+level)
			}
		}
	}
	times := []struct {
		field string
		value *string
		dst   **time.Time
	}{
		{"token_expires_at", g.TokenExpiresAt, &id.ExpiresAt},
		{"token_last_used_at", g.TokenLastUsedAt, &id.LastUsedAt},
	}
	for _, f := range times {
		t, err := optTime(f.value)
		if err != nil {
			return rec, f.field, err
		}
		*f.dst = t
	}
	granted, err := optTime(g.AccessGrantedAt)
	if err != nil {
		return rec, "access_granted_at", err
	}
	if granted != nil {
		id.CreatedAt = *granted
	}
	if g.TokenExpired {
		id.Status = steward.StatusExpired
	}
	rec.Identity = id
	return rec, "", nil
}

// optTime parses a nullable time; null and "" are no time.
func optTime(s *string) (*time.Time, error) {
	if s == nil || strings.TrimSpace(*s) == "" {
		return nil, nil
	}
	t, err := kit.ParseTime(*s)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

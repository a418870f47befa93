package posture

import (
	"regexp"
	"strings"
	"unicode"
)

// The agent check reads its rules from the tables below: which words of a
// scope name a change (write), a removal (delete) or control over others
// (admin), a few scopes whose words mislead, and the scopes that only call
// a model. Scope names follow each provider's style (s3:PutObject,
// roles/storage.objectAdmin, Group.ReadWrite.All, contents:write,
// patch:deployments, okta.users.manage), so a scope is split into words
// (at punctuation and at lower-to-upper case changes) and each word is
// looked up. Adding a rule is one entry.

// Scope classes, weakest first.
const (
	scopeRead   = ""
	scopeWrite  = "write"
	scopeDelete = "delete"
	scopeAdmin  = "admin"
)

// scopeWords maps a lowercase word of a scope to its class.
var scopeWords = map[string]string{
	"write": scopeWrite, "put": scopeWrite, "post": scopeWrite, "create": scopeWrite, "update": scopeWrite, "patch": scopeWrite,
	"edit": scopeWrite, "editor": scopeWrite, "modify": scopeWrite, "insert": scopeWrite, "upload": scopeWrite, "send": scopeWrite,
	"publish": scopeWrite, "publisher": scopeWrite, "deploy": scopeWrite, "deployer": scopeWrite, "contributor": scopeWrite,
	"push": scopeWrite, "merge": scopeWrite, "execute": scopeWrite, "exec": scopeWrite, "invoke": scopeWrite, "set": scopeWrite,
	"delete": scopeDelete, "destroy": scopeDelete, "purge": scopeDelete, "remove": scopeDelete, "drop": scopeDelete,
	"revoke": scopeDelete, "terminate": scopeDelete, "truncate": scopeDelete,
	"admin": scopeAdmin, "administrator": scopeAdmin, "manage": scopeAdmin, "manager": scopeAdmin, "owner": scopeAdmin,
	"root": scopeAdmin, "superuser": scopeAdmin, "sudo": scopeAdmin, "full": scopeAdmin, "impersonate": scopeAdmin,
}

// scopePatterns classify whole scopes whose words alone mislead: the
// wildcard, and cloud permissions that hand out other identities' access.
var scopePatterns = []struct {
	Pattern *regexp.Regexp
	Class   string
}{
	{regexp.MustCompile(`^\*$|^[^:/.]+[:.]\*$`), scopeAdmin},
	{regexp.MustCompile(`(?i)^iam:(PassRole|CreateAccessKey|AttachRolePolicy|PutRolePolicy)$`), scopeAdmin},
	{regexp.MustCompile(`(?i)^roles/(owner|editor)$`), scopeAdmin},
	{regexp.MustCompile(`(?i)^(rbac/)?(Owner|User Access Administrator)$`), scopeAdmin},
}

// modelScopes are scopes, per provider, that only call a model (the
// agent's own reasoning); "write" in their names changes nothing of the
// organisation's.
var modelScopes = map[string][]string{
	"vendor:anthropic": {"messages:write"},
	"vendor:openai":    {"model.request", "responses.write"},
}

var scopeRank = map[string]int{scopeRead: 0, scopeWrite: 1, scopeDelete: 2, scopeAdmin: 3}

// scopeClass returns what a scope of provider lets its holder do:
// scopeRead, scopeWrite, scopeDelete or scopeAdmin.
func scopeClass(provider, scope string) string {
	for _, m := range modelScopes[provider] {
		if strings.EqualFold(m, scope) {
			return scopeRead
		}
	}
	for _, p := range scopePatterns {
		if p.Pattern.MatchString(scope) {
			return p.Class
		}
	}
	class := scopeRead
	for _, w := range scopeWordsOf(scope) {
		if c, ok := scopeWords[w]; ok && scopeRank[c] > scopeRank[class] {
			class = c
		}
	}
	return class
}

// scopeWordsOf splits a scope into lowercase words at every character that
// is not a letter or digit and where a lowercase letter or a digit meets
// an upper case one ("Group.ReadWrite.All" → group, read, write, all).
func scopeWordsOf(scope string) []string {
	var words []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			words = append(words, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	var prev rune
	for _, r := range scope {
		switch {
		case !unicode.IsLetter(r) && !unicode.IsDigit(r):
			flush()
		case unicode.IsUpper(r) && (unicode.IsLower(prev) || unicode.IsDigit(prev)):
			flush()
			cur = append(cur, r)
		default:
			cur = append(cur, r)
		}
		prev = r
	}
	flush()
	return words
}

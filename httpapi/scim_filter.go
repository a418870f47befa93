package httpapi

import (
	"fmt"
	"strings"
	"time"

	filter "github.com/scim2/filter-parser/v2"

	"github.com/steward-nhi/steward"
)

// SCIM filters (RFC 7644 §3.4.2.2) are parsed by scim2/filter-parser and
// evaluated here against the attributes of a User as Steward holds them.
// Attribute names, operators and the core schema URI compare without
// case; values compare without case except for id and externalId
// (caseExact in RFC 7643 §4.1).

const scimEnterpriseSchema = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

// maxFilterLen bounds a filter before it is parsed.
const maxFilterLen = 4096

// maxFilterDepth bounds the groups of a filter (the parser recurses).
const maxFilterDepth = 64

// scimCaseExact lists the attributes whose values compare exactly.
var scimCaseExact = map[string]bool{"id": true, "externalid": true}

// scimAttrs is a User as a tree of lower-cased attribute names; every
// attribute of the published schema is present, nil when unset, so a
// filter on an unknown attribute is told apart from one on an empty one.
func scimAttrs(o *steward.Owner) map[string]any {
	var ext, team any
	if o.ExternalRef != "" {
		ext = o.ExternalRef
	}
	if o.Team != "" {
		team = o.Team
	}
	var email any
	if o.Email != "" {
		email = o.Email
	}
	return map[string]any{
		"id": o.ID, "externalid": ext, "username": email, "displayname": o.Name,
		"active": o.Status == steward.OwnerActive,
		"name":   map[string]any{"formatted": o.Name},
		"emails": []any{map[string]any{"value": email, "primary": true, "type": "work"}},
		"meta": map[string]any{"created": o.CreatedAt, "lastmodified": o.UpdatedAt, "resourcetype": "User",
			"location": nil, "version": nil},
		strings.ToLower(scimEnterpriseSchema): map[string]any{"department": team},
	}
}

// scimFilterError is an invalid filter: 400 with scimType invalidFilter.
func scimFilterError(format string, a ...any) error {
	return scimProblem{status: 400, scimType: "invalidFilter", detail: fmt.Sprintf(format, a...)}
}

// parseSCIMFilter parses a filter; a malformed one is invalidFilter.
func parseSCIMFilter(s string) (expr filter.Expression, err error) {
	if len(s) > maxFilterLen {
		return nil, scimFilterError("filter is longer than %d bytes", maxFilterLen)
	}
	if strings.Count(s, "(")+strings.Count(s, "[") > maxFilterDepth {
		return nil, scimFilterError("filter nests more than %d groups", maxFilterDepth)
	}
	defer func() {
		// The parser is outside code; a panic on odd input is a bad filter,
		// not a crashed request.
		if r := recover(); r != nil {
			expr, err = nil, scimFilterError("filter %q does not parse", s)
		}
	}()
	expr, err = filter.ParseFilter([]byte(s))
	if err != nil {
		return nil, scimFilterError("filter %q does not parse: %v", s, err)
	}
	return expr, nil
}

// resolveSCIM returns the attribute (or sub-attribute) values a path names
// in attrs, and whether the name is an attribute of the schema.
func resolveSCIM(attrs map[string]any, p filter.AttributePath) (any, string, error) {
	scope := attrs
	if p.URIPrefix != nil {
		uri := strings.ToLower(*p.URIPrefix)
		switch {
		case uri == strings.ToLower(scimUserSchema):
		default:
			m, ok := attrs[uri].(map[string]any)
			if !ok {
				return nil, "", scimFilterError("schema %q is not a schema of User", *p.URIPrefix)
			}
			scope = m
		}
	}
	name := strings.ToLower(p.AttributeName)
	v, ok := scope[name]
	if !ok {
		return nil, "", scimFilterError("attribute %q is not an attribute of User", p.String())
	}
	if p.SubAttribute == nil {
		return v, name, nil
	}
	sub := strings.ToLower(*p.SubAttribute)
	switch x := v.(type) {
	case map[string]any:
		sv, ok := x[sub]
		if !ok {
			return nil, "", scimFilterError("attribute %q is not an attribute of User", p.String())
		}
		return sv, name + "." + sub, nil
	case []any:
		var out []any
		for _, el := range x {
			m, _ := el.(map[string]any)
			sv, ok := m[sub]
			if !ok {
				return nil, "", scimFilterError("attribute %q is not an attribute of User", p.String())
			}
			out = append(out, sv)
		}
		return out, name + "." + sub, nil
	}
	return nil, "", scimFilterError("attribute %q has no sub-attributes", p.AttributeName)
}

// evalSCIM reports whether attrs match expr. Both sides of a logical
// expression are evaluated so an unknown attribute is refused whatever the
// data.
func evalSCIM(expr filter.Expression, attrs map[string]any) (bool, error) {
	switch x := expr.(type) {
	case *filter.LogicalExpression:
		l, err := evalSCIM(x.Left, attrs)
		if err != nil {
			return false, err
		}
		r, err := evalSCIM(x.Right, attrs)
		if err != nil {
			return false, err
		}
		if strings.EqualFold(string(x.Operator), string(filter.OR)) {
			return l || r, nil
		}
		return l && r, nil
	case *filter.NotExpression:
		v, err := evalSCIM(x.Expression, attrs)
		return !v, err
	case *filter.ValuePath:
		v, _, err := resolveSCIM(attrs, x.AttributePath)
		if err != nil {
			return false, err
		}
		els, ok := v.([]any)
		if !ok {
			return false, scimFilterError("attribute %q is not multi-valued", x.AttributePath.String())
		}
		matched := false
		for _, el := range els {
			m, ok := el.(map[string]any)
			if !ok {
				continue
			}
			match, err := evalSCIM(x.ValueFilter, m)
			if err != nil {
				return false, err
			}
			matched = matched || match
		}
		return matched, nil
	case *filter.AttributeExpression:
		v, name, err := resolveSCIM(attrs, x.AttributePath)
		if err != nil {
			return false, err
		}
		op := filter.CompareOperator(strings.ToLower(string(x.Operator)))
		vals := flattenSCIM(v)
		if op == filter.PR {
			return len(vals) > 0, nil
		}
		for _, val := range vals {
			ok, err := compareSCIM(val, op, x.CompareValue, scimCaseExact[name])
			if err != nil {
				return false, err
			}
			if ok {
				return true, nil
			}
		}
		return false, nil
	}
	return false, scimFilterError("unsupported filter expression %v", expr)
}

// flattenSCIM lists the non-null values of an attribute; a multi-valued
// complex attribute compares through its "value" sub-attribute.
func flattenSCIM(v any) []any {
	switch x := v.(type) {
	case nil:
		return nil
	case []any:
		var out []any
		for _, el := range x {
			if m, ok := el.(map[string]any); ok {
				el = m["value"]
			}
			out = append(out, flattenSCIM(el)...)
		}
		return out
	case map[string]any:
		return nil
	}
	return []any{v}
}

func compareSCIM(v any, op filter.CompareOperator, want any, caseExact bool) (bool, error) {
	switch x := v.(type) {
	case bool:
		b, ok := want.(bool)
		switch {
		case op != filter.EQ && op != filter.NE:
			return false, scimFilterError("operator %s does not apply to a boolean", op)
		case !ok:
			return false, nil
		}
		return (x == b) == (op == filter.EQ), nil
	case time.Time:
		s, ok := want.(string)
		if !ok {
			return false, nil
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return false, scimFilterError("%q is not an RFC 3339 date-time", s)
		}
		c := x.Compare(t)
		return ordered(op, c), nil
	case string:
		s, ok := want.(string)
		if !ok {
			return false, nil
		}
		if !caseExact {
			x, s = strings.ToLower(x), strings.ToLower(s)
		}
		switch op {
		case filter.CO:
			return strings.Contains(x, s), nil
		case filter.SW:
			return strings.HasPrefix(x, s), nil
		case filter.EW:
			return strings.HasSuffix(x, s), nil
		}
		return ordered(op, strings.Compare(x, s)), nil
	}
	return false, nil
}

// ordered applies eq, ne, gt, ge, lt or le to a comparison result.
func ordered(op filter.CompareOperator, c int) bool {
	switch op {
	case filter.EQ:
		return c == 0
	case filter.NE:
		return c != 0
	case filter.GT:
		return c > 0
	case filter.GE:
		return c >= 0
	case filter.LT:
		return c < 0
	case filter.LE:
		return c <= 0
	}
	return false
}

package authz

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/cedar-policy/cedar-go/types"

	"github.com/steward-nhi/steward"
)

// maxDepth bounds the nesting of request values.
const maxDepth = 32

// toCedar converts a decoded JSON value (numbers as json.Number) to a Cedar
// value: strings → String, integers → Long, other numbers → decimal (four
// fractional digits), booleans → Boolean, arrays → Set, objects → Record,
// and {"__entity":{"type","id"}} → an entity reference. null has no Cedar
// value: ok is false and the attribute is left out.
func toCedar(v any, field string, depth int) (types.Value, bool, error) {
	if depth > maxDepth {
		return nil, false, steward.FieldError(field, "is nested more than %d levels", maxDepth)
	}
	switch x := v.(type) {
	case nil:
		return nil, false, nil
	case string:
		return types.String(x), true, nil
	case bool:
		return types.Boolean(x), true, nil
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return types.Long(n), true, nil
		}
		f, err := x.Float64()
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, false, steward.FieldError(field, "number %s is out of range", x)
		}
		d, err := types.NewDecimalFromFloat(f)
		if err != nil {
			return nil, false, steward.FieldError(field, "number %s cannot be a Cedar long or decimal", x)
		}
		return d, true, nil
	case float64: // values decoded without UseNumber
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return types.Long(int64(x)), true, nil
		}
		d, err := types.NewDecimalFromFloat(x)
		if err != nil {
			return nil, false, steward.FieldError(field, "number %v cannot be a Cedar long or decimal", x)
		}
		return d, true, nil
	case []any:
		vals := make([]types.Value, 0, len(x))
		for i, e := range x {
			cv, ok, err := toCedar(e, fmt.Sprintf("%s[%d]", field, i), depth+1)
			if err != nil {
				return nil, false, err
			}
			if ok {
				vals = append(vals, cv)
			}
		}
		return types.NewSet(vals...), true, nil
	case map[string]any:
		if ref, ok := x["__entity"].(map[string]any); ok && len(x) == 1 {
			t, _ := ref["type"].(string)
			id, _ := ref["id"].(string)
			if t == "" || id == "" {
				return nil, false, steward.FieldError(field+".__entity", "needs string type and id")
			}
			return types.NewEntityUID(types.EntityType(t), types.String(id)), true, nil
		}
		rec, err := toRecordMap(x, field, depth+1)
		if err != nil {
			return nil, false, err
		}
		return types.NewRecord(rec), true, nil
	}
	return nil, false, steward.FieldError(field, "has an unsupported JSON value")
}

// toRecordMap converts a JSON object to Cedar record attributes.
func toRecordMap(m map[string]any, field string, depth int) (types.RecordMap, error) {
	out := make(types.RecordMap, len(m))
	for k, v := range m {
		cv, ok, err := toCedar(v, field+"."+k, depth)
		if err != nil {
			return nil, err
		}
		if ok {
			out[types.String(k)] = cv
		}
	}
	return out, nil
}

// uidString renders an entity reference as Type::"id".
func uidString(typ, id string) string { return typ + "::" + quote(id) }

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func sortedKeys[V any](m map[string]V) []string {
	ks := slices.AppendSeq(make([]string, 0, len(m)), maps.Keys(m))
	slices.Sort(ks)
	return ks
}

func joinComma(ss []string) string { return strings.Join(ss, ", ") }

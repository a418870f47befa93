package authz

import "strings"

// maxDiffLines bounds the quadratic line diff; larger texts are shown as
// removed whole and added whole.
const maxDiffLines = 3000

// Diff returns a line diff of a → b: unchanged lines prefixed with two
// spaces, removed with "- ", added with "+ ". Equal texts give "".
func Diff(a, b string) string {
	if a == b {
		return ""
	}
	al, bl := splitLines(a), splitLines(b)
	var sb strings.Builder
	if len(al) > maxDiffLines || len(bl) > maxDiffLines {
		for _, l := range al {
			sb.WriteString("- " + l + "\n")
		}
		for _, l := range bl {
			sb.WriteString("+ " + l + "\n")
		}
		return sb.String()
	}
	// lcs[i][j] = length of the LCS of al[i:] and bl[j:].
	lcs := make([][]int32, len(al)+1)
	for i := range lcs {
		lcs[i] = make([]int32, len(bl)+1)
	}
	for i := len(al) - 1; i >= 0; i-- {
		for j := len(bl) - 1; j >= 0; j-- {
			if al[i] == bl[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	i, j := 0, 0
	for i < len(al) || j < len(bl) {
		switch {
		case i < len(al) && j < len(bl) && al[i] == bl[j]:
			sb.WriteString("  " + al[i] + "\n")
			i++
			j++
		case j < len(bl) && (i == len(al) || lcs[i][j+1] >= lcs[i+1][j]):
			sb.WriteString("+ " + bl[j] + "\n")
			j++
		default:
			sb.WriteString("- " + al[i] + "\n")
			i++
		}
	}
	return sb.String()
}

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

package scan

import (
	"hash/crc32"
	"strings"
)

const base62Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// validators check a captured secret's built-in checksum. Rules name them
// in their validate field.
var validators = map[string]func(string) bool{
	"steward-crc32": ValidStewardKey,
	"github-crc32":  validGitHubToken,
}

// Base62CRC32 encodes the CRC-32 (IEEE) of s in base62 (alphabet 0-9A-Za-z),
// left-padded with '0' to 6 characters.
func Base62CRC32(s string) string {
	v := crc32.ChecksumIEEE([]byte(s))
	var buf [6]byte
	for i := len(buf) - 1; i >= 0; i-- {
		buf[i] = base62Alphabet[v%62]
		v /= 62
	}
	return string(buf[:])
}

// ValidStewardKey reports whether key is "stw_" + 30 base62 characters + the
// 6-character base62 CRC-32 of those 30 characters.
func ValidStewardKey(key string) bool {
	if len(key) != 40 || !strings.HasPrefix(key, "stw_") {
		return false
	}
	body, sum := key[4:34], key[34:]
	return isBase62(key[4:]) && Base62CRC32(body) == sum
}

// validGitHubToken checks the CRC-32 suffix of GitHub's prefixed tokens
// (ghp_, gho_, ghu_, ghs_, ghr_): 30 random base62 characters and a
// 6-character base62 checksum of them.
func validGitHubToken(tok string) bool {
	i := strings.IndexByte(tok, '_')
	if i < 0 {
		return false
	}
	body := tok[i+1:]
	if len(body) != 36 || !isBase62(body) {
		return false
	}
	return Base62CRC32(body[:30]) == body[30:]
}

func isBase62(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

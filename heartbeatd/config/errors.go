// Errors and text helpers shared by the ha.cf, authkeys and haresources parsers.
package config

import (
	"fmt"
	"strings"

	"github.com/hasuite/hasuite/internal/conferr"
)

// Error is a configuration problem in a file, at a line.
type Error = conferr.Error

// Classic heartbeat's separators (heartbeat.h).
const (
	whitespace = " \t\n\r\f"
	delims     = ", \t\n\r\f"
)

// splitAny splits s into the non-empty runs of bytes not in seps.
func splitAny(s, seps string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r < 0x80 && strings.ContainsRune(seps, r) })
}

// asciiLower lower-cases ASCII letters only, like inplace_ascii_strdown.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// position names a file and line for warnings, as Error does.
func position(file string, line int) string {
	if line > 0 {
		return fmt.Sprintf("%s:%d", file, line)
	}
	return file
}

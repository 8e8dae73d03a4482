// Atoi: numbers in message fields and arguments, read as classic's C
// clients read them.

package api

import "strings"

// Atoi is C's atoi: leading blanks, an optional sign, then digits; 0 when
// there are none, and trailing garbage ignored, as classic clients parse
// num_ping or a cl_status timeout.
func Atoi(s string) int {
	s = strings.TrimLeft(s, " \t\n")
	neg := strings.HasPrefix(s, "-")
	if neg || strings.HasPrefix(s, "+") {
		s = s[1:]
	}
	n := 0
	for i := 0; i < len(s) && s[i] >= '0' && s[i] <= '9' && n < 1<<30; i++ {
		n = n*10 + int(s[i]-'0')
	}
	if neg {
		return -n
	}
	return n
}

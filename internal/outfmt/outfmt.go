// Package outfmt parses the output-format options the classic tools gain
// in hasuite (cl_status, ldirectord status): "--json", "-o json", "-ojson",
// and the "text" forms that ask for the classic output.
package outfmt

import "strings"

// JSON removes the output-format options standing before "--" from args
// and reports whether JSON was asked for (the last one wins). ok is false
// for an -o value other than json or text, or a missing one.
func JSON(args []string) (rest []string, json, ok bool) {
	rest = make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		var format string
		switch {
		case a == "--":
			return append(rest, args[i:]...), json, true
		case a == "--json":
			json = true
			continue
		case a == "-o":
			if i+1 >= len(args) {
				return nil, false, false
			}
			i++
			format = args[i]
		case strings.HasPrefix(a, "-o") && len(a) > 2:
			format = a[2:]
		default:
			rest = append(rest, a)
			continue
		}
		switch format {
		case "json":
			json = true
		case "text":
			json = false
		default:
			return nil, false, false
		}
	}
	return rest, json, true
}

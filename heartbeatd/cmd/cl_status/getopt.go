// getopt: the GNU getopt subset cl_status's sub-commands parse their options with.
package main

import (
	"fmt"
	"strings"
)

// option is one parsed option letter and its argument, if it takes one.
type option struct {
	c   byte
	arg string
}

// getopt parses args like GNU getopt(3) with argv[0] = name and the given
// optstring: options and operands may be mixed (operands are collected in
// order), "--" ends options, "-x" letters may be clustered, and an option
// followed by ':' in optstr takes the rest of the word or the next word.
// Problems are reported as GNU getopt prints them and returned as option '?'.
func getopt(name string, args []string, optstr string) (opts []option, operands []string, complaints []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			operands = append(operands, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			operands = append(operands, a)
			continue
		}
		for j := 1; j < len(a); j++ {
			c := a[j]
			k := strings.IndexByte(optstr, c)
			if c == ':' || k < 0 {
				complaints = append(complaints, fmt.Sprintf("%s: invalid option -- '%c'", name, c))
				opts = append(opts, option{c: '?'})
				continue
			}
			if k+1 < len(optstr) && optstr[k+1] == ':' {
				switch {
				case j+1 < len(a):
					opts = append(opts, option{c: c, arg: a[j+1:]})
				case i+1 < len(args):
					i++
					opts = append(opts, option{c: c, arg: args[i]})
				default:
					complaints = append(complaints, fmt.Sprintf("%s: option requires an argument -- '%c'", name, c))
					opts = append(opts, option{c: '?'})
				}
				break
			}
			opts = append(opts, option{c: c})
		}
	}
	return opts, operands, complaints
}

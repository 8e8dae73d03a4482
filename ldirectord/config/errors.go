// The error type of the ldirectord.cf parser.
package config

import "github.com/hasuite/hasuite/internal/conferr"

// Error is a configuration problem in a file, at a line.
type Error = conferr.Error

// registry.go: mapping checktype and service to a Checker.

package check

import (
	"fmt"
	"strings"
)

// For returns the checker for a virtual's checktype and, for negotiate, its
// service. Types and services not implemented yet give an error wrapping
// ErrNotImplemented; unknown ones a plain error.
func For(checktype, service string) (Checker, error) {
	switch checktype {
	case "connect":
		return Connect{}, nil
	case "negotiate":
		return forService(service)
	case "on":
		return On{}, nil
	case "off":
		return Off{}, nil
	case "external":
		return External{}, nil
	case "external-perl":
		return ExternalPerl{}, nil
	case "ping":
		return Ping{}, nil
	}
	if checktype == "combined" || strings.ContainsAny(checktype, "0123456789") {
		return nil, fmt.Errorf("checktype %s (combined): %w", checktype, ErrNotImplemented)
	}
	return nil, fmt.Errorf("unknown checktype %q", checktype)
}

func forService(service string) (Checker, error) {
	switch service {
	case "", "none":
		return None{}, nil
	case "http", "https", "http_proxy":
		return HTTP{Service: service}, nil
	case "smtp", "submission":
		return SMTP{}, nil
	case "pop":
		return POP{}, nil
	case "imap":
		return IMAP{}, nil
	case "nntp":
		return NNTP{}, nil
	case "ftp":
		return FTP{}, nil
	case "simpletcp":
		return SimpleTCP{}, nil
	case "dns":
		return DNS{}, nil
	case "radius":
		return RADIUS{}, nil
	case "sip":
		return SIP{}, nil
	case "ldap", "ldaps":
		return LDAP{TLS: service == "ldaps"}, nil
	case "imaps":
		return IMAPS{}, nil
	case "pops":
		return POPS{}, nil
	case "mysql":
		return MySQL{}, nil
	case "pgsql":
		return PgSQL{}, nil
	case "oracle":
		return Oracle{}, nil
	}
	return nil, fmt.Errorf("unknown negotiate service %q", service)
}

// registry.go: haresources resource syntax and the choice of agent for a resource.

package resources

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// isIP is ResourceManager's isip glob, [0-9]*.[0-9]*.[0-9]*.[0-9]*, where
// "*" matches anything, "/" included.
var isIP = regexp.MustCompile(`(?s)^[0-9].*\.[0-9].*\.[0-9].*\.[0-9].*$`)

// Validator is implemented by agents that can check early, before any
// Start, that they will be able to run (a script agent's script exists).
type Validator interface {
	Validate() error
}

// Split parses a haresources resource: "name" or "name::a1::a2...". The
// arguments are the "::"-separated parts, space-joined and word-split again
// as the classic shell does, so empty parts vanish. A bare IPv4 address
// (the glob [0-9]*.[0-9]*.[0-9]*.[0-9]*, e.g. "10.0.0.1/24/eth0") is
// IPaddr with the whole resource as its argument.
func Split(resource string) (name string, args []string, err error) {
	name, rest, err := cut(resource)
	if err != nil {
		return "", nil, err
	}
	return name, strings.Fields(strings.ReplaceAll(rest, "::", " ")), nil
}

// cut splits a resource into its script name (IPaddr for a bare address)
// and the text after the first "::".
func cut(resource string) (name, rest string, err error) {
	if strings.TrimSpace(resource) == "" {
		return "", "", errors.New("empty resource")
	}
	canon := resource
	if isIP.MatchString(resource) {
		canon = "IPaddr::" + resource
	}
	name, rest, _ = strings.Cut(canon, "::")
	if name == "" {
		return "", "", fmt.Errorf("resource %s: empty script name", resource)
	}
	if strings.ContainsAny(name, " \t\n") {
		return "", "", fmt.Errorf("resource %s: white space in script name", resource)
	}
	return name, rest, nil
}

// New returns the agent for one haresources resource (see Split; IPaddr and
// IPaddr2 get the "::"-separated pieces unsplit, for IPv6 addresses): the
// built-in IPaddr, IPaddr2, ldirectord or LVSSyncDaemonSwap agent, or else
// the script agent for resource.d/<name> or init.d/<name>. The agent's Name
// is the resource as written. Errors name the resource.
func New(resource string, env Env) (Agent, error) {
	name, rest, err := cut(resource)
	if err != nil {
		return nil, err
	}
	args := strings.Fields(strings.ReplaceAll(rest, "::", " "))
	var a Agent
	switch name {
	case "IPaddr", "IPaddr2":
		// An IPv6 address holds "::" itself: hand over the pieces
		// unsplit, empty ones included, so joining them with "::"
		// gives the address back.
		if rest != "" {
			args = strings.Split(rest, "::")
		}
		a, err = NewIPaddr(args, env, name == "IPaddr2")
	case "LVSSyncDaemonSwap":
		a, err = NewLVSSyncDaemonSwap(args, env)
	case ldirectordName:
		return newLdirectord(resource, args, env)
	default:
		return NewScript(resource, name, args, env), nil
	}
	if err != nil {
		return nil, fmt.Errorf("resource %s: %w", resource, err)
	}
	if a.Name() != resource {
		a = &named{Agent: a, name: resource}
	}
	return a, nil
}

// Group returns the agents of a haresources group, in order; the first
// error stops it.
func Group(resources []string, env Env) ([]Agent, error) {
	agents := make([]Agent, 0, len(resources))
	for _, r := range resources {
		a, err := New(r, env)
		if err != nil {
			return nil, err
		}
		agents = append(agents, a)
	}
	return agents, nil
}

// named gives a built-in agent the resource's name as written, e.g. a bare
// "10.0.0.1/24" for an IPaddr agent that calls itself "IPaddr::10.0.0.1/24".
type named struct {
	Agent
	name string
}

func (n *named) Name() string { return n.name }

// Unwrap returns the built-in agent.
func (n *named) Unwrap() Agent { return n.Agent }

// Validate validates the built-in agent, if it can.
func (n *named) Validate() error {
	if v, ok := n.Agent.(Validator); ok {
		return v.Validate()
	}
	return nil
}

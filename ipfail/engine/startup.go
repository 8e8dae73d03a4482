// Start-up decisions: whether ipfail runs at all, auto_failback, the peer.
package engine

import (
	"errors"
	"fmt"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/hasuite/hasuite/heartbeatd/api"
)

// ExitNoRespawn is the exit code that tells heartbeat not to respawn ipfail.
const ExitNoRespawn = 100

// ExitError ends ipfail with Code after logging Msg at error level.
type ExitError struct {
	Code int
	Msg  string
}

func (e *ExitError) Error() string { return fmt.Sprintf("%s (exit %d)", e.Msg, e.Code) }

// CheckResources decides from getrsc's result whether the daemon manages
// resources: a refused getrsc means it does not, and ipfail exits with
// ExitNoRespawn ("No managed resources"), as classic does when
// get_resources fails. Other errors (the connection) are returned as they
// are.
func CheckResources(rsc string, err error) error {
	var re *api.ResultError
	if errors.As(err, &re) || (err == nil && rsc == "") {
		return &ExitError{Code: ExitNoRespawn, Msg: "No managed resources"}
	}
	return err
}

// ParseAutoFailback interprets getparm auto_failback like classic: legacy
// and values that are not booleans (cl_str_to_boolean) end ipfail with
// ExitNoRespawn; an unset value logs an error and counts as off.
func ParseAutoFailback(value string, set bool, log logrus.FieldLogger) (bool, error) {
	if !set {
		log.Error("Couldn't get auto_failback setting.")
		return false, nil
	}
	if value == "legacy" {
		return false, &ExitError{Code: ExitNoRespawn, Msg: "auto_failback set to incompatible legacy option."}
	}
	switch strings.ToLower(value) {
	case "true", "on", "yes", "y", "1":
		log.Debugf("auto_failback -> 1 (%s)", value)
		return true, nil
	case "false", "off", "no", "n", "0":
		log.Debugf("auto_failback -> 0 (%s)", value)
		return false, nil
	}
	return false, &ExitError{Code: ExitNoRespawn, Msg: fmt.Sprintf(" invalid auto_faiback value(%s)", value)}
}

// FindPeer returns the other node of type normal, logging the walk like
// classic node_walk; with several, the last one wins (ipfail handles two
// nodes only), and "" means there is none.
func FindPeer(nodes []api.NodeInfo, local string, log logrus.FieldLogger) string {
	log.Debug("Starting node walk")
	peer, n := "", 0
	for _, nd := range nodes {
		log.Debugf("Cluster node: %s: status: %s", nd.Name, nd.Status)
		if nd.Type == api.NodeNormal && nd.Name != local {
			peer = nd.Name
			n++
			log.Debugf("[They are %s]", peer)
		}
	}
	switch {
	case n == 0:
		log.Warn("No other normal node: ipfail has nobody to compare ping nodes with")
	case n > 1:
		log.WithField("peer", peer).Warnf("%d other normal nodes: ipfail handles two-node clusters only", n)
	}
	return peer
}

// PingNodes counts the nodes whose status is "ping" (classic
// ping_node_status): each ping address and each ping_group counts one.
func PingNodes(nodes []api.NodeInfo, log logrus.FieldLogger) int {
	n := 0
	for _, nd := range nodes {
		if nd.Status == api.NodePing {
			log.Debugf("Found ping node %s!", nd.Name)
			n++
		}
	}
	return n
}

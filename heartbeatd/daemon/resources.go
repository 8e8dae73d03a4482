// Resource management glue: the resource manager's configuration, agents
// and the last-resort reboot.

package daemon

import (
	"path/filepath"
	"slices"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/hasuite/hasuite/heartbeatd/config"
	"github.com/hasuite/hasuite/heartbeatd/rm"
	"github.com/hasuite/hasuite/internal/logging"
	"github.com/hasuite/hasuite/resources"
)

func rmConfig(node string, f *Files) rm.Config {
	return rm.Config{
		Local:               node,
		Nodes:               f.HA.Nodes,
		Groups:              f.Groups,
		AutoFailback:        f.HA.AutoFailback,
		Monitor:             f.HA.ResourceMonitor,
		RebootOnStopFailure: f.HA.StopFailureAction == "reboot",
	}
}

// newAgent builds the agent of one haresources resource with the current
// configuration.
func (d *Daemon) newAgent(resource string) (resources.Agent, error) {
	ha := d.files.Load().HA
	initDir := d.opts.InitDir
	if initDir == "" {
		initDir = "/etc/init.d"
	}
	nice := "no"
	if ha.AutoFailback != config.Legacy {
		nice = "yes"
	}
	return resources.New(resource, resources.Env{
		ConfDir: d.opts.ConfDir,
		InitDir: initDir,
		RunDir:  d.opts.RunDir,
		Vars: append(slices.Clone(ha.Env),
			"HA_CURHOST="+d.node,
			"HA_DIR="+d.opts.ConfDir,
			"HA_RCDIR="+filepath.Join(d.opts.ConfDir, "rc.d"),
			"HA_RESOURCEDIR="+filepath.Join(d.opts.ConfDir, "resource.d"),
			"HA_FUNCS="+filepath.Join(d.opts.ConfDir, "shellfuncs"),
			"HA_RSCTMP="+filepath.Join(d.opts.RunDir, "rsctmp"),
			"HA_NICEFAILBACK="+nice,
			"HA_LOGD=no"),
		ScriptTimeout: ha.ResourceTimeout,
		IPaddrARP:     resources.ARP(ha.IPaddrARP),
		IPaddr2ARP:    resources.ARP(ha.IPaddr2ARP),
		Ldirectord:    d.opts.Ldirectord,
		Net:           d.opts.Net,
		Log:           d.log,
	})
}

// reboot is stop_failure_action reboot: classic's last resort after a
// resource refused to stop (reboot -nf).
func reboot(log logrus.FieldLogger, reason string) {
	logging.Crit(log.WithField("reason", reason), "Rebooting: a resource could not be stopped")
	unix.Sync()
	if err := unix.Reboot(unix.LINUX_REBOOT_CMD_RESTART); err != nil {
		log.WithError(err).Error("reboot failed")
	}
}

// releaseLeftovers stops, before anything is negotiated, every group that
// already runs here (left by a killed heartbeatd, or started outside it):
// the peer may hold it now. Classic's init script only warned
// (ResourceManager verifyallidle).
func (d *Daemon) releaseLeftovers(groups []config.Group) {
	for _, g := range groups {
		if !anyRunning(d.exec, g) {
			continue
		}
		logging.Crit(d.log.WithField("group", g.Key), "Resource group "+g.Key+" is active, and should not be! Releasing it before start-up.")
		if err := d.exec.release(g); err != nil {
			d.log.WithError(err).WithField("group", g.Key).Error("releasing a group left running")
		}
	}
}

func anyRunning(e *executor, g config.Group) bool {
	for _, res := range g.Resources {
		if a, err := e.agent(res); err == nil {
			if up, _ := e.running(res, a); up {
				return true
			}
		}
	}
	return false
}

// setup.go: building the demo's network, starting the web servers, ldirectord and heartbeatd, and bringing a director back as after a reboot.

package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// demo is one run.
type demo struct {
	lab  *lab
	bin  string // heartbeatd, ipfail, ldirectord, cl_status
	self string // this program, run in a namespace as the web servers
	n    *narrator
	c    *client
	// hbStart is when each director's heartbeatd last started.
	hbStart map[string]time.Time
	web     map[string]*proc // web server of each real (and "sorry")
}

// hosts lists every namespace but the hub.
func hosts() []string {
	h := []string{"router", "client", director1, director2, "sorry"}
	for _, w := range webs {
		h = append(h, w.name)
	}
	return h
}

// network creates the namespaces, bridges, links, addresses and routes of
// the picture in conf.go.
func (d *demo) network() error {
	if err := ip("netns", "add", hubNS); err != nil {
		return err
	}
	for _, br := range []string{"outside", "public", "internal"} {
		if err := addBridge(br); err != nil {
			return err
		}
	}
	for _, h := range hosts() {
		if h == director1 || h == director2 {
			continue // director() does them
		}
		if err := addHost(h); err != nil {
			return err
		}
	}
	steps := []error{
		plug("client", "eth0", "outside", clientAddr+"/24"),
		ip("-n", ns("client"), "route", "add", "default", "via", routerOut),
		plug("router", "eth0", "outside", routerOut+"/24"),
		plug("router", "eth1", "public", routerPub+"/24"),
		sysctl("router", "net.ipv4.ip_forward", "1"),
		plug("sorry", "eth0", "internal", sorryAddr+"/24"),
		ip("-n", ns("sorry"), "route", "add", "default", "via", gateway),
	}
	for _, w := range webs {
		steps = append(steps,
			plug(w.name, "eth0", "internal", w.addr+"/24"),
			ip("-n", ns(w.name), "route", "add", "default", "via", gateway))
	}
	for _, err := range steps {
		if err != nil {
			return err
		}
	}
	for _, dr := range directors {
		if err := d.director(dr.name); err != nil {
			return err
		}
	}
	return nil
}

// director creates a director's namespace: eth0 on the public LAN, eth1
// on the internal one, the router as default gateway, forwarding on.
func (d *demo) director(name string) error {
	for _, dr := range directors {
		if dr.name != name {
			continue
		}
		for _, err := range []error{
			addHost(name),
			plug(name, pubIface, "public", dr.pub+"/24"),
			plug(name, intIface, "internal", dr.internal+"/24"),
			ip("-n", ns(name), "route", "add", "default", "via", routerPub),
			sysctl(name, "net.ipv4.ip_forward", "1"),
		} {
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// startWeb starts the web server of a real server (or the sorry server).
func (d *demo) startWeb(host string) error {
	p, err := d.lab.start(host, filepath.Join(workDir, host+".log"), nil, d.self, "serve", "-name", host)
	if err != nil {
		return err
	}
	d.web[host] = p
	// Up once it accepts connections.
	addr := sorryAddr
	for _, w := range webs {
		if w.name == host {
			addr = w.addr
		}
	}
	_, err = waitFor(host+" listening", 5*time.Second, func() (bool, string) {
		err := inNS(host, func() error {
			c, err := net.DialTimeout("tcp4", net.JoinHostPort(addr, "80"), time.Second)
			if err == nil {
				c.Close()
			}
			return err
		})
		return err == nil, fmt.Sprint(err)
	})
	return err
}

// stopWeb stops a web server (SIGTERM).
func (d *demo) stopWeb(host string) {
	if p := d.web[host]; p != nil {
		p.stop(syscall.SIGTERM, 2*time.Second)
	}
}

func (d *demo) tree(director string) tree {
	return tree{dir: filepath.Join(workDir, director)}
}

// ldirectordEnv makes ldirectord find its config in the director's tree
// (instead of /etc/ha.d) and keep its pid file there (instead of /run).
func (d *demo) ldirectordEnv(director string) []string {
	t := d.tree(director)
	return []string{"HASUITE_LDIRECTORD_CONFDIRS=" + t.etc(), "HASUITE_LDIRECTORD_RUNDIR=" + t.dir}
}

// startLdirectord runs "ldirectord ldirectord.cf start" on the director,
// as its init system would: the daemon goes to the background.
func (d *demo) startLdirectord(director string) error {
	t := d.tree(director)
	p, err := d.lab.start(director, filepath.Join(t.dir, "ldirectord.stderr"), d.ldirectordEnv(director),
		filepath.Join(d.bin, "ldirectord"), "ldirectord.cf", "start")
	if err != nil {
		return err
	}
	<-p.done
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		out, _ := os.ReadFile(filepath.Join(t.dir, "ldirectord.stderr"))
		return fmt.Errorf("ldirectord ldirectord.cf start on %s: exit %d: %s", director, code, out)
	}
	return nil
}

// startHeartbeatd runs heartbeatd in the foreground on the director (the
// demo is its service manager); its API socket is in the director's tree.
func (d *demo) startHeartbeatd(director string) error {
	t := d.tree(director)
	_, err := d.lab.start(director, filepath.Join(t.dir, "heartbeatd.stderr"),
		[]string{"HA_API_SOCKET=" + socket(director)},
		filepath.Join(d.bin, "heartbeatd"), "-f", "-node", director,
		"-confdir", t.etc(), "-statedir", filepath.Join(t.dir, "state"),
		"-rundir", filepath.Join(t.dir, "run"), "-pidfile", filepath.Join(t.dir, "heartbeatd.pid"))
	if err != nil {
		return err
	}
	d.hbStart[director] = time.Now()
	return nil
}

// up builds everything and waits for the cluster's normal state.
func (d *demo) up() error {
	d.n.heading("Setting up: %d network namespaces on this machine", len(hosts())+1)
	if err := d.network(); err != nil {
		return err
	}
	d.n.say("client %s -- router %s/%s (the ping node)", clientAddr, routerOut, routerPub)
	d.n.say("public LAN:   director1 %s, director2 %s, VIP %s", directors[0].pub, directors[1].pub, vip)
	d.n.say("internal LAN: director1 %s, director2 %s, gateway %s", directors[0].internal, directors[1].internal, gateway)
	d.n.say("              web1-3 %s-.13, sorry %s", webs[0].addr, sorryAddr)
	for _, w := range webs {
		if err := d.startWeb(w.name); err != nil {
			return err
		}
	}
	if err := d.startWeb("sorry"); err != nil {
		return err
	}
	d.n.say("web1, web2, web3 and sorry serve HTTP: each answers with its name")

	b := make([]byte, 16)
	rand.Read(b)
	key := hex.EncodeToString(b) // the same authkeys secret on both
	for _, dr := range directors {
		if err := d.tree(dr.name).write(key); err != nil {
			return err
		}
	}
	d.n.say("each director's /etc/ha.d: %s/{director1,director2}/etc/ha.d/", workDir)
	d.n.say("  ha.cf, authkeys, haresources, ldirectord.cf (read them)")

	for _, dr := range directors {
		if err := d.startLdirectord(dr.name); err != nil {
			return err
		}
	}
	all := map[string]int{"web1": 1, "web2": 1, "web3": 1}
	for _, dr := range directors {
		took, err := waitTable(dr.name, all, 10*time.Second)
		if err != nil {
			return err
		}
		d.n.say("ldirectord on %s: checked the web servers, table inet ldirectord ready (%s)", dr.name, ms(took))
	}
	for _, dr := range directors {
		if err := d.startHeartbeatd(dr.name); err != nil {
			return err
		}
	}
	d.n.say("heartbeatd started on both (ipfail is respawned by it)")
	took, err := waitFor("director1 holding the VIP", 15*time.Second, func() (bool, string) {
		h, ok := holder()
		return ok && h == director1, h
	})
	if err != nil {
		return err
	}
	d.n.say("director1 took the VIP and the gateway (%s after heartbeatd started)", ms(took))
	for _, pair := range [][2]string{{director1, director2}, {director2, director1}, {director1, routerPub}, {director2, routerPub}} {
		want := map[bool]string{true: "ping", false: "active"}[pair[1] == routerPub]
		if _, err := waitFor(pair[0]+" seeing "+pair[1]+" "+want, 10*time.Second, func() (bool, string) {
			s := nodeStatus(pair[0], pair[1])
			return s == want, s
		}); err != nil {
			return err
		}
	}
	d.n.say("both directors see each other active and the router answering pings")
	if err := d.waitIpfail(); err != nil {
		return err
	}
	d.n.say("ipfail runs on both and sees its peer's ipfail")
	return nil
}

// reboot brings a crashed director back as from a reboot: a fresh
// namespace (no addresses, no nftables table) and ldirectord; the caller
// starts heartbeatd once the table is ready.
func (d *demo) reboot(director string) error {
	killNS(ns(director))
	// Its veth pairs first: a namespace's devices go away asynchronously.
	for _, i := range []string{pubIface, intIface} {
		if err := ip("-n", hubNS, "link", "del", hubPort(director, i)); err != nil {
			return err
		}
	}
	if err := ip("netns", "delete", ns(director)); err != nil {
		return err
	}
	if err := d.director(director); err != nil {
		return err
	}
	if err := d.startLdirectord(director); err != nil {
		return err
	}
	return nil
}

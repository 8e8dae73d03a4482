// Lookup of heartbeat's registered UDP port in /etc/services.
package config

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// DefaultUDPPort is heartbeat's registered port, used when /etc/services
// has no "ha-cluster" udp entry.
const DefaultUDPPort = 694

// servicesFile is read for the "ha-cluster" entry; tests point it elsewhere.
var servicesFile = "/etc/services"

// defaultUDPPort returns the udp port of service "ha-cluster" (name or
// alias) from servicesFile, else DefaultUDPPort, as classic heartbeat's
// getservbyname("ha-cluster", "udp") fallback does.
func defaultUDPPort() int {
	f, err := os.Open(servicesFile)
	if err != nil {
		return DefaultUDPPort
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(line)
		if len(fields) < 2 {
			continue
		}
		port, proto, ok := strings.Cut(fields[1], "/")
		if !ok || proto != "udp" {
			continue
		}
		names := append([]string{fields[0]}, fields[2:]...)
		for _, n := range names {
			if n != "ha-cluster" {
				continue
			}
			if p, err := strconv.Atoi(port); err == nil && p > 0 && p <= 65535 {
				return p
			}
		}
	}
	return DefaultUDPPort
}

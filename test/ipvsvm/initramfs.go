package ipvsvm

// initramfs.go: the guest's initramfs (busybox, modules in load order, /init) as a newc cpio.

import (
	"bytes"
	"debug/elf"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// BaseModules are loaded in every guest: the 9p and overlay root, IPVS with
// every scheduler and the FTP helper, and veth and dummy links (loading
// dummy creates dummy0). Their dependencies are added from each module's
// .modinfo (Debian's package has no modules.dep).
var BaseModules = []string{
	"virtio_mmio", "9pnet_virtio", "9p", "overlay",
	"ip_vs", "ip_vs_rr", "ip_vs_wrr", "ip_vs_lc", "ip_vs_wlc", "ip_vs_sh", "ip_vs_dh",
	"ip_vs_fo", "ip_vs_ovf", "ip_vs_lblc", "ip_vs_lblcr", "ip_vs_mh", "ip_vs_sed", "ip_vs_nq",
	"ip_vs_ftp", "veth", "dummy",
}

// modInfo is what the load order needs from one .ko.
type modInfo struct {
	path    string
	depends []string
	softpre []string // softdep pre: (module names or aliases)
}

// modIndex indexes the modules of one kernel tree by name and alias.
type modIndex struct {
	mods    map[string]*modInfo
	aliases map[string]string // read on first need
}

// normMod is a module name as the kernel compares them ('-' = '_').
func normMod(s string) string { return strings.ReplaceAll(s, "-", "_") }

// indexModules reads the .modinfo of every .ko under dir.
func indexModules(dir string) (*modIndex, error) {
	ix := &modIndex{mods: map[string]*modInfo{}}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".ko") {
			return err
		}
		name := normMod(strings.TrimSuffix(filepath.Base(p), ".ko"))
		ix.mods[name] = &modInfo{path: p}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("indexing modules in %s: %w", dir, err)
	}
	return ix, nil
}

// info reads a module's .modinfo section on first use.
func (ix *modIndex) info(name string) (*modInfo, error) {
	m := ix.mods[name]
	if m == nil {
		return nil, fmt.Errorf("module %s not found", name)
	}
	if m.depends != nil {
		return m, nil
	}
	f, err := elf.Open(m.path)
	if err != nil {
		return nil, fmt.Errorf("module %s: %w", name, err)
	}
	defer f.Close()
	sec := f.Section(".modinfo")
	if sec == nil {
		return nil, fmt.Errorf("module %s: no .modinfo section", name)
	}
	data, err := sec.Data()
	if err != nil {
		return nil, fmt.Errorf("module %s: reading .modinfo: %w", name, err)
	}
	m.depends = []string{}
	for _, kv := range bytes.Split(data, []byte{0}) {
		k, v, ok := strings.Cut(string(kv), "=")
		if !ok {
			continue
		}
		switch k {
		case "depends":
			for _, d := range strings.Split(v, ",") {
				if d != "" {
					m.depends = append(m.depends, normMod(d))
				}
			}
		case "softdep":
			// "pre: a b post: c"
			pre := false
			for _, w := range strings.Fields(v) {
				switch w {
				case "pre:":
					pre = true
				case "post:":
					pre = false
				default:
					if pre {
						m.softpre = append(m.softpre, w)
					}
				}
			}
		}
	}
	return m, nil
}

// resolve maps a softdep name (a module or an alias) to a module name; ""
// if nothing provides it.
func (ix *modIndex) resolve(name string) string {
	if _, ok := ix.mods[normMod(name)]; ok {
		return normMod(name)
	}
	if ix.aliases == nil {
		ix.loadAliases()
	}
	return ix.aliases[name]
}

// loadAliases reads the alias= entries of the crypto modules, the only
// softdep targets named by alias in practice (libcrc32c: "pre: crc32c").
func (ix *modIndex) loadAliases() {
	ix.aliases = map[string]string{}
	names := make([]string, 0, len(ix.mods))
	for n, m := range ix.mods {
		if strings.Contains(filepath.ToSlash(m.path), "/kernel/crypto/") || strings.Contains(filepath.ToSlash(m.path), "/kernel/arch/") {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		f, err := elf.Open(ix.mods[n].path)
		if err != nil {
			continue
		}
		if sec := f.Section(".modinfo"); sec != nil {
			if data, err := sec.Data(); err == nil {
				for _, kv := range bytes.Split(data, []byte{0}) {
					if a, ok := strings.CutPrefix(string(kv), "alias="); ok {
						if _, dup := ix.aliases[a]; !dup {
							ix.aliases[a] = n
						}
					}
				}
			}
		}
		f.Close()
	}
}

// loadOrder returns the modules to insmod, dependencies (and soft
// pre-dependencies) first, each once.
func (ix *modIndex) loadOrder(want []string) ([]*modInfo, []string, error) {
	var order []*modInfo
	var names []string
	done := map[string]bool{}
	var visit func(name string, stack []string) error
	visit = func(name string, stack []string) error {
		if done[name] {
			return nil
		}
		for _, s := range stack {
			if s == name {
				return fmt.Errorf("module dependency loop: %s", strings.Join(append(stack, name), " -> "))
			}
		}
		m, err := ix.info(name)
		if err != nil {
			if len(stack) > 0 {
				return fmt.Errorf("%w (needed by %s)", err, stack[len(stack)-1])
			}
			return err
		}
		stack = append(stack, name)
		for _, s := range m.softpre {
			if r := ix.resolve(s); r != "" {
				if err := visit(r, stack); err != nil {
					return err
				}
			}
		}
		for _, d := range m.depends {
			if err := visit(d, stack); err != nil {
				return err
			}
		}
		done[name] = true
		order = append(order, m)
		names = append(names, name)
		return nil
	}
	for _, w := range want {
		if err := visit(normMod(w), nil); err != nil {
			return nil, nil, err
		}
	}
	return order, names, nil
}

// cpioWriter writes a newc ("070701") archive.
type cpioWriter struct {
	buf bytes.Buffer
	ino int
}

func (w *cpioWriter) entry(name string, mode uint32, rdevMajor, rdevMinor int, data []byte) {
	w.ino++
	nlink := 1
	if mode&0o170000 == 0o040000 {
		nlink = 2
	}
	fmt.Fprintf(&w.buf, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		w.ino, mode, 0, 0, nlink, 0, len(data), 0, 0, rdevMajor, rdevMinor, len(name)+1, 0)
	w.buf.WriteString(name)
	w.buf.WriteByte(0)
	w.pad()
	w.buf.Write(data)
	w.pad()
}

func (w *cpioWriter) pad() {
	for w.buf.Len()%4 != 0 {
		w.buf.WriteByte(0)
	}
}

func (w *cpioWriter) dir(name string)                         { w.entry(name, 0o040755, 0, 0, nil) }
func (w *cpioWriter) file(name string, mode uint32, b []byte) { w.entry(name, 0o100000|mode, 0, 0, b) }
func (w *cpioWriter) chardev(name string, major, minor int) {
	w.entry(name, 0o020600, major, minor, nil)
}

// bytes ends the archive and returns it.
func (w *cpioWriter) bytes() []byte {
	w.entry("TRAILER!!!", 0, 0, 0, nil)
	return w.buf.Bytes()
}

// buildInitramfs writes an uncompressed initramfs (the kernel unpacks it
// faster than a gzip'd one under TCG) with busybox, the modules and init.
func (k *Kernel) buildInitramfs(path string, modules []string, init string) error {
	ix, err := indexModules(k.ModulesDir)
	if err != nil {
		return err
	}
	order, names, err := ix.loadOrder(modules)
	if err != nil {
		return fmt.Errorf("module load order: %w", err)
	}
	bb, err := os.ReadFile(k.Busybox)
	if err != nil {
		return fmt.Errorf("reading busybox: %w", err)
	}
	w := &cpioWriter{}
	for _, d := range []string{"bin", "dev", "proc", "sys", "host", "rw", "newroot", "modules"} {
		w.dir(d)
	}
	w.chardev("dev/console", 5, 1)
	w.file("bin/busybox", 0o755, bb)
	for i, m := range order {
		b, err := os.ReadFile(m.path)
		if err != nil {
			return fmt.Errorf("reading module: %w", err)
		}
		w.file("modules/"+names[i]+".ko", 0o644, b)
	}
	w.file("modules/order", 0o644, []byte(strings.Join(names, "\n")+"\n"))
	w.file("init", 0o755, []byte(init))
	if err := os.WriteFile(path, w.bytes(), 0o644); err != nil {
		return fmt.Errorf("writing initramfs: %w", err)
	}
	return nil
}

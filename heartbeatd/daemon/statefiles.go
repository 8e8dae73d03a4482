// hb_uuid and hb_generation in the state directory, as 3.0.6 keeps them.

package daemon

import (
	"crypto/rand"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// loadUUID returns the 16 bytes of hb_uuid, creating the file on first start.
func loadUUID(dir string) ([]byte, error) {
	path := filepath.Join(dir, "hb_uuid")
	b, err := os.ReadFile(path)
	if err == nil && len(b) == 16 {
		return b, nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	u := make([]byte, 16)
	if _, err := rand.Read(u); err != nil {
		return nil, err
	}
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
	if err := writeSynced(path, u, 0o644); err != nil {
		return nil, err
	}
	return u, nil
}

// nextGeneration increments hb_generation and fsyncs it before returning,
// so a restarted node never reuses a generation its peers have seen. A
// missing file starts at the current time, as 3.0.6 does.
func nextGeneration(dir string, now time.Time) (uint64, error) {
	path := filepath.Join(dir, "hb_generation")
	var gen uint64
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		gen, err = strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
		if err == nil && gen == math.MaxUint64 {
			err = strconv.ErrRange // the next one would wrap to 0, older than any peer has seen
		}
		if err != nil {
			return 0, fmt.Errorf("%s: not a generation number: %q", path, strings.TrimSpace(string(b)))
		}
		gen++
	case errors.Is(err, os.ErrNotExist):
		gen = uint64(now.Unix())
	default:
		return 0, fmt.Errorf("reading %s: %w", path, err)
	}
	// 16 bytes: decimal right-aligned in 15 characters, then a newline.
	if err := writeSynced(path, []byte(fmt.Sprintf("%15d\n", gen)), 0o644); err != nil {
		return 0, err
	}
	return gen, nil
}

// writeSynced replaces path atomically and durably.
func writeSynced(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err = tmp.Write(data); err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), mode)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

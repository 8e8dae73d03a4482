// keys.go: key derivation from authkeys (HKDF-SHA256) and keyring rotation (Rekey).

package gossip

import (
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"
)

// KeySize is the length of the derived memberlist key (AES-256-GCM).
const KeySize = 32

// hkdfSalt is the HKDF salt of every key this package derives.
const hkdfSalt = "hasuite-memberlist-v1"

// userMsgInfo is the HKDF info of the user-message HMAC key.
const userMsgInfo = "user-msg"

// DefaultRekeyOverlap is the Rekey overlap when Config.RekeyOverlap is 0.
const DefaultRekeyOverlap = 10 * time.Second

// DeriveKey derives the 32-byte memberlist key from the active authkeys
// entry: HKDF-SHA256 with salt "hasuite-memberlist-v1", the method name
// (sha1, md5, crc) as info and the secret as input keying material. crc
// has no secret, so its key is public: it separates clusters, it does not
// protect them.
func DeriveKey(method, secret string) []byte {
	return mustHKDF([]byte(secret), method)
}

// userKey derives the HMAC-SHA256 key of the user-message layer from a
// memberlist key, so both rotate together.
func userKey(clusterKey []byte) []byte {
	return mustHKDF(clusterKey, userMsgInfo)
}

func mustHKDF(secret []byte, info string) []byte {
	k, err := hkdf.Key(sha256.New, secret, []byte(hkdfSalt), info, KeySize)
	if err != nil { // only for an impossible length
		panic(err)
	}
	return k
}

// checkKey accepts the AES key lengths memberlist accepts.
func checkKey(key []byte) error {
	switch len(key) {
	case 16, 24, 32:
		return nil
	}
	return fmt.Errorf("gossip key must be 16, 24 or 32 bytes, not %d", len(key))
}

// Rekey rotates to key without losing membership, in three steps:
//
//  1. at once: key is added to the keyring, so it is accepted (memberlist
//     packets and user messages) but not yet used to send;
//  2. after the overlap O (Config.RekeyOverlap, default 10 s): key becomes
//     the primary key, used for every packet and user message sent;
//  3. after 2·O: every other key is removed.
//
// The rotation rule: if every node calls Rekey with the same key (SIGHUP
// after the new authkeys is installed everywhere) within O of the first
// one, no packet is lost: nobody sends with the new key before all accept
// it, and nobody drops the old key before all send with the new one. O must
// stay well above 2× the probe interval (it is, at the defaults: 10 s vs
// 400 ms). A second Rekey during a rotation restarts it with the newer key.
func (g *Gossip) Rekey(key []byte) error {
	if err := checkKey(key); err != nil {
		return err
	}
	g.rekeyMu.Lock()
	defer g.rekeyMu.Unlock()
	if g.closed.Load() {
		return errors.New("gossip: shut down")
	}
	if ks := g.keyring.GetKeys(); len(ks) == 1 && string(ks[0]) == string(key) {
		return nil // already the only key: nothing to rotate
	}
	for _, t := range g.rekeyTimers {
		t.Stop()
	}
	g.rekeyTimers = nil
	if err := g.keyring.AddKey(key); err != nil {
		return fmt.Errorf("gossip: adding key: %w", err)
	}
	g.log.Info("memberlist key rotation started: new key accepted now, used in " + g.rekeyOverlap.String() +
		", old keys dropped in " + (2 * g.rekeyOverlap).String())
	key = append([]byte(nil), key...)
	g.rekeyTimers = append(g.rekeyTimers,
		time.AfterFunc(g.rekeyOverlap, func() {
			if err := g.keyring.UseKey(key); err != nil {
				g.log.WithError(err).Error("memberlist key rotation: switching the primary key failed")
				return
			}
			g.log.Info("memberlist key rotation: new key is now primary")
		}),
		time.AfterFunc(2*g.rekeyOverlap, func() {
			for _, old := range g.keyring.GetKeys() {
				if string(old) != string(key) {
					if err := g.keyring.RemoveKey(old); err != nil {
						g.log.WithError(err).Error("memberlist key rotation: removing an old key failed")
					}
				}
			}
			g.log.Info("memberlist key rotation finished: old keys removed")
		}))
	return nil
}

package visitor

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// File names: "salt-2026-11-27" for a day's salt, and
// ".salt-2026-11-27-<random>.tmp" while one is being written.
const (
	filePrefix = "salt-"
	tempPrefix = ".salt-"
	tempSuffix = ".tmp"
)

func prepareDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("visitor salts: create directory: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("visitor salts: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("visitor salts: directory %s is open to other users and cannot be restricted: %w", dir, err)
		}
	}
	return nil
}

func (s *Salts) path(day int64) string {
	return filepath.Join(s.dir, filePrefix+dayString(day))
}

// loadOrCreate reads the salt file of day, or creates it with a fresh salt.
func (s *Salts) loadOrCreate(day int64) (*salt, error) {
	k, err := s.load(day)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return k, err
	}
	return s.save(newSalt(day))
}

func (s *Salts) load(day int64) (*salt, error) {
	path := s.path(day)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("visitor salts: read salt file: %w", err)
	}
	var k *salt
	ok := len(b) == saltSize
	if ok {
		k, ok = saltFrom(day, [saltSize]byte(b))
	}
	clear(b)
	if !ok {
		return nil, fmt.Errorf("visitor salts: salt file %s is damaged (%d bytes, want %d random ones); "+
			"delete it to start a new salt for the day (visitors seen earlier that day will be counted again)",
			path, len(b), saltSize)
	}
	return k, nil
}

// save writes k to its day's file unless that file exists, in which case the
// salt in the file is returned instead: when processes share the directory,
// the first to write a day's salt wins. The file appears complete or not at
// all: it is written under a temporary name and then hard-linked, which,
// unlike a rename, fails if the target exists.
func (s *Salts) save(k *salt) (*salt, error) {
	date := dayString(k.day)
	f, err := os.CreateTemp(s.dir, tempPrefix+date+"-*"+tempSuffix) // mode 0600
	if err != nil {
		return nil, fmt.Errorf("visitor salts: write salt file: %w", err)
	}
	tmp := f.Name()
	b := k.bytes()
	_, err = f.Write(b[:])
	clear(b[:])
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Link(tmp, s.path(k.day))
	}
	if err != nil {
		// Our salt was not used: destroy it.
		_ = shred(tmp)
		if errors.Is(err, fs.ErrExist) {
			return s.load(k.day)
		}
		return nil, fmt.Errorf("visitor salts: write salt file: %w", err)
	}
	// Only the temporary name goes; the data lives on under the final one.
	_ = os.Remove(tmp)
	syncDir(s.dir)
	return k, nil
}

// removeExpired overwrites and deletes the files (including temporary ones
// left by a crash) of every day whose salt has expired at t.
func (s *Salts) removeExpired(t time.Time) error {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("visitor salts: %w", err)
	}
	var errs []error
	for _, e := range entries {
		day, ok := fileDay(e.Name())
		if !ok || !s.fileExpired(day, t) {
			continue
		}
		if err := shred(filepath.Join(s.dir, e.Name())); err != nil {
			errs = append(errs, fmt.Errorf("visitor salts: delete expired salt: %w", err))
		}
	}
	return errors.Join(errs...)
}

// fileExpired reports whether the file of a day's salt must go at t: in
// local mode once the day and grace are over (other processes sharing the
// directory may still be on that day), in shared mode as soon as the day is
// over, since the day's salt lives on in memory only for its grace period.
func (s *Salts) fileExpired(day int64, t time.Time) bool {
	if s.shared != nil {
		return day < unixDay(t.Unix())
	}
	return s.expired(day, t)
}

// fileDay returns the day a salt file or temporary salt file belongs to.
func fileDay(name string) (int64, bool) {
	var date string
	switch {
	case strings.HasPrefix(name, filePrefix):
		date = name[len(filePrefix):]
	case strings.HasPrefix(name, tempPrefix) && strings.HasSuffix(name, tempSuffix):
		date = name[len(tempPrefix):]
		if len(date) < len(time.DateOnly) {
			return 0, false
		}
		date = date[:len(time.DateOnly)]
	default:
		return 0, false
	}
	t, err := time.Parse(time.DateOnly, date)
	if err != nil {
		return 0, false
	}
	return unixDay(t.Unix()), true
}

// shred overwrites a salt file with zeros and deletes it. On copy-on-write
// file systems and flash storage an overwrite may not reach the old blocks;
// it still keeps the salt out of anything that copies the file's contents
// before it is deleted, such as a backup.
func shred(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err == nil {
		var zeros [saltSize]byte
		fi, serr := f.Stat()
		for off := int64(0); serr == nil && off < fi.Size(); off += saltSize {
			if _, err := f.WriteAt(zeros[:], off); err != nil {
				break
			}
		}
		_ = f.Sync()
		_ = f.Close()
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// syncDir makes a new directory entry durable, where the platform allows.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}

package spool

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"analytics/aggregator"
)

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	rows := []aggregator.Row{row("/a", 1, 1), row("/b", 2, 5)}
	path := filepath.Join(dir, fileName(7))
	if err := os.WriteFile(path, encode(rows), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, rows) {
		t.Errorf("ReadFile = %+v, want %+v", got, rows)
	}
	if err := os.WriteFile(path, []byte("ANSPOOL1\x05ab"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadFile(path); !errors.Is(err, ErrCorrupt) {
		t.Errorf("damaged file: err = %v, want ErrCorrupt", err)
	}
}

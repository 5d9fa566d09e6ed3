package spool

import (
	"fmt"
	"os"

	"analytics/aggregator"
)

// Suffix ends the name of every spool file ("0000000000000042.spool").
const Suffix = suffix

// ReadFile decodes one spool file, for inspection (analytics audit); it
// does not touch a running spool. A damaged file is ErrCorrupt.
func ReadFile(path string) ([]aggregator.Row, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read spool file: %w", err)
	}
	return decode(data)
}

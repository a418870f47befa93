package audit

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"time"

	"github.com/steward-nhi/steward"
)

// Lister lists chain entries (a store, the service, or the HTTP client).
type Lister func(ctx context.Context, f steward.EventFilter) (*steward.Page[*steward.Event], error)

// ExportFilter selects the entries to export.
type ExportFilter struct {
	Since    *time.Time
	Until    *time.Time
	Actor    string
	Action   string
	AfterSeq int64
}

// WriteJSONL writes one entry as a line of JSON: the entry's fields in a
// fixed order, exactly as stored, so a SIEM can re-check the hashes.
func WriteJSONL(w io.Writer, e *steward.Event) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	_, err = w.Write(b)
	return err
}

// ExportJSONL writes the selected entries, oldest first, one per line, and
// returns how many it wrote.
func ExportJSONL(ctx context.Context, list Lister, f ExportFilter, w io.Writer) (int64, error) {
	bw := bufio.NewWriterSize(w, 64<<10)
	var n int64
	ef := steward.EventFilter{Since: f.Since, Until: f.Until, Actor: f.Actor, Action: f.Action, Ascending: true, Limit: steward.MaxLimit}
	for {
		page, err := list(ctx, ef)
		if err != nil {
			return n, err
		}
		for _, e := range page.Items {
			if e.Seq <= f.AfterSeq {
				continue
			}
			if err := WriteJSONL(bw, e); err != nil {
				return n, err
			}
			n++
		}
		if page.NextCursor == "" {
			break
		}
		ef.Cursor = page.NextCursor
	}
	return n, bw.Flush()
}

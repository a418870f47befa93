package inspect

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// FilterTools removes from a tools/list response the tools allow refuses
// (and tools whose name is not a valid tool name). Any other message is
// returned as it is.
func FilterTools(msg []byte, allow func(name string) bool) ([]byte, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(msg, &top); err != nil {
		return nil, fmt.Errorf("tools/list response: %w", err)
	}
	var result map[string]json.RawMessage
	if json.Unmarshal(top["result"], &result) != nil || result["tools"] == nil {
		return msg, nil
	}
	var tools []json.RawMessage
	if err := json.Unmarshal(result["tools"], &tools); err != nil {
		return nil, fmt.Errorf("tools/list result.tools: %w", err)
	}
	kept := tools[:0]
	for _, t := range tools {
		var tool struct {
			Name string `json:"name"`
		}
		if json.Unmarshal(t, &tool) == nil && ValidToolName(tool.Name) && allow(tool.Name) {
			kept = append(kept, t)
		}
	}
	var err error
	if result["tools"], err = json.Marshal(kept); err != nil {
		return nil, err
	}
	if top["result"], err = json.Marshal(result); err != nil {
		return nil, err
	}
	return json.Marshal(top)
}

// MaxEventLine bounds one line of an event stream the filter reads.
const MaxEventLine = 16 << 20

// SSEFilter returns a reader of the server-sent event stream r with the
// data of each event passed through transform (which returns the new
// data, or an error that ends the stream). Events are read and written
// one at a time, so the stream keeps flowing.
func SSEFilter(r io.ReadCloser, transform func(data []byte) ([]byte, error)) io.ReadCloser {
	return &sseFilter{src: r, br: bufio.NewReaderSize(r, 32<<10), transform: transform}
}

type sseFilter struct {
	src       io.ReadCloser
	br        *bufio.Reader
	transform func([]byte) ([]byte, error)
	pending   []byte
	err       error
}

func (f *sseFilter) Close() error { return f.src.Close() }

func (f *sseFilter) Read(p []byte) (int, error) {
	for len(f.pending) == 0 {
		if f.err != nil {
			return 0, f.err
		}
		f.pending, f.err = f.next()
	}
	n := copy(p, f.pending)
	f.pending = f.pending[n:]
	return n, nil
}

// next reads one event (up to its blank line) and returns it rewritten.
func (f *sseFilter) next() ([]byte, error) {
	var other, data bytes.Buffer
	hasData := false
	for {
		line, err := f.readLine()
		if err != nil {
			if errors.Is(err, io.EOF) && (other.Len() > 0 || hasData) {
				out, terr := f.emit(&other, &data, hasData)
				if terr != nil {
					return nil, terr
				}
				return out, io.EOF
			}
			return nil, err
		}
		if len(line) == 0 {
			out, err := f.emit(&other, &data, hasData)
			if err != nil {
				return nil, err
			}
			return append(out, '\n'), nil
		}
		if v, ok := bytes.CutPrefix(line, []byte("data")); ok && (len(v) == 0 || v[0] == ':') {
			v = bytes.TrimPrefix(bytes.TrimPrefix(v, []byte(":")), []byte(" "))
			if hasData {
				data.WriteByte('\n')
			}
			data.Write(v)
			hasData = true
			continue
		}
		other.Write(line)
		other.WriteByte('\n')
	}
}

func (f *sseFilter) emit(other, data *bytes.Buffer, hasData bool) ([]byte, error) {
	out := other.Bytes()
	if !hasData {
		return out, nil
	}
	d, err := f.transform(data.Bytes())
	if err != nil {
		return nil, err
	}
	for _, l := range bytes.Split(d, []byte("\n")) {
		out = append(out, "data: "...)
		out = append(out, l...)
		out = append(out, '\n')
	}
	return out, nil
}

// readLine returns one line without its ending (\n, \r\n).
func (f *sseFilter) readLine() ([]byte, error) {
	var line []byte
	for {
		chunk, err := f.br.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > MaxEventLine {
			return nil, fmt.Errorf("event stream line longer than %d bytes", MaxEventLine)
		}
		if err == nil {
			line = bytes.TrimSuffix(line[:len(line)-1], []byte("\r"))
			return line, nil
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			if len(line) > 0 && errors.Is(err, io.EOF) {
				return line, nil
			}
			return nil, err
		}
	}
}

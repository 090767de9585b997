// Package pdftest builds small PDFs for tests: valid documents with one
// content stream per page, and a decompression bomb (a page whose
// FlateDecode stream inflates to a chosen size) that is cheap to make;
// and PeakHeap, which measures the heap a function takes.
package pdftest

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"fmt"
	"hash/adler32"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync/atomic"
	"time"
)

// Page is one page's content stream: Data as stored in the file, with
// Filter its /Filter name ("" for none).
type Page struct {
	Data   []byte
	Filter string
}

// TextPage is a page that shows line in Helvetica.
func TextPage(line string) Page {
	return Page{Data: []byte(fmt.Sprintf("BT /F1 12 Tf 72 720 Td (%s) Tj ET", line))}
}

// Build writes a PDF with the given pages: catalog, page tree, one
// Helvetica font, then a page object and a content stream per page, and
// an exact xref table.
func Build(pages ...Page) []byte {
	var b bytes.Buffer
	var offs []int
	obj := func(s string) {
		offs = append(offs, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", len(offs), s)
	}
	b.WriteString("%PDF-1.4\n")
	obj("<< /Type /Catalog /Pages 2 0 R >>")
	var kids strings.Builder
	for i := range pages {
		fmt.Fprintf(&kids, "%d 0 R ", 4+2*i)
	}
	obj(fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", kids.String(), len(pages)))
	obj("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
	for i, p := range pages {
		obj(fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>", 5+2*i))
		filter := ""
		if p.Filter != "" {
			filter = " /Filter /" + p.Filter
		}
		offs = append(offs, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n<< /Length %d%s >>\nstream\n", len(offs), len(p.Data), filter)
		b.Write(p.Data)
		b.WriteString("\nendstream\nendobj\n")
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(offs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offs)+1, xref)
	return b.Bytes()
}

// BombLine is the text-showing line a bomb's content repeats.
const BombLine = "BT /F1 12 Tf 72 712 Td (All work and no play makes Jack a dull boy.) Tj ET\n"

// Bomb is a one-page PDF whose content stream (FlateDecode, a valid
// zlib stream with its checksum) inflates to mib MiB of BombLine
// repeated: 1024 MiB make a file of about 3.5 MB.
//
// It deflates one MiB once and repeats the compressed block: a block
// flushed to a byte boundary refers only to its own bytes, so copies
// decode alike; the Adler-32 of the whole is combined from the block's.
func Bomb(mib int) Page {
	block := bytes.Repeat([]byte(BombLine), (1<<20)/len(BombLine))
	var z bytes.Buffer
	fw, _ := flate.NewWriter(&z, flate.BestCompression)
	_, _ = fw.Write(block)
	_ = fw.Flush()
	deflated := append([]byte(nil), z.Bytes()...)

	var out bytes.Buffer
	out.Write([]byte{0x78, 0xda}) // zlib header: deflate, 32 KiB window, best compression
	sum, n := uint32(1), int64(0)
	blockSum := adler32.Checksum(block)
	for range mib {
		out.Write(deflated)
		sum = adlerCombine(sum, blockSum, int64(len(block)))
		n += int64(len(block))
	}
	z.Reset()
	fw, _ = flate.NewWriter(&z, flate.BestCompression)
	_ = fw.Close() // an empty final block
	out.Write(z.Bytes())
	_ = binary.Write(&out, binary.BigEndian, sum)
	return Page{Data: out.Bytes(), Filter: "FlateDecode"}
}

// adlerCombine returns the Adler-32 of A followed by B from a (A's), b
// (B's) and B's length (zlib's adler32_combine).
func adlerCombine(a, b uint32, lenB int64) uint32 {
	const base = 65521
	rem := uint64(lenB % base)
	s1 := uint64(a & 0xffff)
	s2 := rem * s1 % base
	s1 += uint64(b&0xffff) + base - 1
	s2 += uint64(a>>16) + uint64(b>>16) + base - rem
	return uint32(s1%base) | uint32(s2%base)<<16
}

// PeakHeap runs f and returns the most heap (live and unswept objects,
// runtime/metrics' /memory/classes/heap/objects:bytes) seen while it ran,
// over what there was before it started, sampling every millisecond.
func PeakHeap(f func()) uint64 {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 {
		metrics.Read(sample)
		return sample[0].Value.Uint64()
	}
	runtime.GC()
	base := read()
	var peak atomic.Uint64
	done := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			if h := read(); h > peak.Load() {
				peak.Store(h)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	f()
	close(done)
	<-sampled
	if h := read(); h > peak.Load() {
		peak.Store(h)
	}
	if p := peak.Load(); p > base {
		return p - base
	}
	return 0
}

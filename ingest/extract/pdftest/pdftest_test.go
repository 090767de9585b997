package pdftest

import (
	"bytes"
	"compress/zlib"
	"hash/adler32"
	"io"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestBombInflatesToItsSizeWithAValidChecksum(t *testing.T) {
	t.Parallel()
	p := Bomb(3)
	zr, err := zlib.NewReader(bytes.NewReader(p.Data))
	require.NoError(t, err)
	h := adler32.New()
	n, err := io.Copy(h, zr)
	require.NoError(t, err, "the zlib reader checks the Adler-32 at the end")
	require.Equal(t, int64(3*((1<<20)/len(BombLine))*len(BombLine)), n)
	require.Less(t, len(p.Data), 20_000)
}

func TestAdlerCombineMatchesDirect(t *testing.T) {
	t.Parallel()
	a, b := []byte("granite rivers and glaciers"), bytes.Repeat([]byte{0xff, 0x00, 'x'}, 70_000)
	require.Equal(t, adler32.Checksum(append(append([]byte(nil), a...), b...)),
		adlerCombine(adler32.Checksum(a), adler32.Checksum(b), int64(len(b))))
}

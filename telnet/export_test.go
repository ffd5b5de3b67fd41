package telnet

// DecodeChunk lets the decoder's tests hold the read path's chunk decoder
// to the same reference as Decode.
func DecodeChunk(d *Decoder, dst, src []byte, each func(Event)) []byte {
	return d.decodeChunk(dst, src, each)
}

// SetGenericScan makes d decode without the assembly scan, which the
// tests' machine may otherwise always take.
func SetGenericScan(d *Decoder, on bool) { d.genericScan = on }

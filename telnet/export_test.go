package telnet

// DecodeChunk lets the decoder's tests hold the read path's chunk decoder
// to the same reference as Decode.
func DecodeChunk(d *Decoder, dst, src []byte, each func(Event)) []byte {
	return d.decodeChunk(dst, src, each)
}

// DecodeChunkGeneric is DecodeChunk without the assembly scan, which the
// tests' machine may otherwise always take.
func DecodeChunkGeneric(d *Decoder, dst, src []byte, each func(Event)) []byte {
	d.genericScan = true
	defer func() { d.genericScan = false }()
	return d.decodeChunk(dst, src, each)
}

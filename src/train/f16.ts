// IEEE half floats on the host: decoding f16 tensors read back from the device (validation,
// diagnosis) and safetensors F16 weights. The device converts on its own; nothing here encodes.

export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

/** Bytes holding f16 values → their float values. */
export function decodeHalves(bytes: ArrayBuffer): Float32Array {
  return Float32Array.from(new Uint16Array(bytes, 0, Math.floor(bytes.byteLength / 2)), halfToFloat);
}

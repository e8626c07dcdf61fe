/** The same headers with lower-cased names, as transports and encodings expect them. */
export function lowerCaseHeaders (headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) out[name.toLowerCase()] = value
  return out
}

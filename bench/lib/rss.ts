/** Samples this process's resident set size on an interval and keeps the peak. */
export interface RssSampler {
  /** Stops sampling and returns the peak RSS in bytes (including one last sample). */
  stop (): number
}

export function sampleRss (intervalMs = 50): RssSampler {
  let peak = process.memoryUsage.rss()
  const timer = setInterval(() => {
    const rss = process.memoryUsage.rss()
    if (rss > peak) peak = rss
  }, intervalMs)
  timer.unref()
  return {
    stop () {
      clearInterval(timer)
      return Math.max(peak, process.memoryUsage.rss())
    }
  }
}

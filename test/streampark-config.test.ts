import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { fromStreamParkConfig } from '../lib/config/streampark.js'
import { createHttpWritable } from '../lib/sink/http-writable.js'

const seed = readFileSync(new URL('./fixtures/streampark-http-sink.yaml', import.meta.url), 'utf8')

test("the seed's own example file loads into options", () => {
  assert.deepEqual(fromStreamParkConfig(seed), {
    numWriters: 3,
    queueCapacity: 10000,
    timeout: 100,
    retries: 3,
    successCode: 200,
    failover: 'mysql://root:123456@localhost:3306/test?table=record'
  })
})

test('each failover storage becomes a store URI', () => {
  const withStorage = (s: string): unknown => fromStreamParkConfig(seed.replace('storage: mysql', `storage: ${s}`)).failover
  assert.equal(withStorage('kafka'), 'kafka://localhost:9091,localhost:9092,localhost:9093/bigdata?shape=streampark')
  assert.equal(withStorage('hbase'), 'hbase://localhost:8080/record')
  assert.equal(withStorage('hdfs'), 'webhdfs://localhost:9870/http/failover?user=benjobs&format=yyyy-MM-dd')
  assert.throws(() => withStorage('redis'), { code: 'ERR_INVALID_OPTION', message: /http\.sink\.failover\.storage/ })
})

test('flat dotted keys, requestTimeout, delayTime and successCode lists', () => {
  assert.deepEqual(fromStreamParkConfig({
    'http.sink.threshold.numWriters': '5',
    'http.sink.threshold.timeout': 100,
    'http.sink.threshold.requestTimeout': 2500,
    'http.sink.threshold.delayTime': 50,
    'http.sink.threshold.successCode': '200,201'
  }), { numWriters: 5, timeout: 2500, backoff: { base: 50, max: 30000 }, successCode: [200, 201] })
})

test('the options it gives are accepted by createHttpWritable', () => {
  const sink = createHttpWritable({ ...fromStreamParkConfig(seed.replace('storage: mysql', 'storage: file')), url: 'http://127.0.0.1:1/' })
  sink.destroy()
})

test('bad config is an ERR_INVALID_OPTION naming the key', () => {
  assert.throws(() => fromStreamParkConfig('a: [1'), { code: 'ERR_INVALID_OPTION', message: /config: not YAML/ })
  assert.throws(() => fromStreamParkConfig('other: 1'), { message: /no http\.sink section/ })
  assert.throws(() => fromStreamParkConfig('http.sink:\n  threshold:\n    retries: many'), { message: /http\.sink\.threshold\.retries/ })
  assert.throws(() => fromStreamParkConfig('http.sink:\n  threshold:\n    successCode: ok'), { message: /successCode/ })
  assert.throws(() => fromStreamParkConfig('http.sink:\n  failover:\n    storage: mysql\n    table: t\n    jdbc:\n      jdbcUrl: postgres://x'), { message: /jdbcUrl/ })
})

/**
 * Store URIs: every malformed URI fails at openStore() with ERR_INVALID_OPTION saying what is wrong,
 * nothing connects at construction, and a password never shows in errors, `store.uri` or inspect().
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { inspect } from 'node:util'
import { openStore } from '../lib/stores/open-store.js'
import { envelopes } from './helpers/store-contract.js'
import { freePort } from './services/free-port.js'

const bad: Array<[string, RegExp]> = [
  ['kafka://127.0.0.1:9092', /no topic/],
  ['kafka://127.0.0.1:9092/', /no topic/],
  ['kafka://broker/topic', /has no port/],
  ['kafka://a:9092,b/topic', /"b" has no port/],
  ['kafka://a:99999/topic', /out of range/],
  ['kafka://a:9092/to pic', /bad topic name/],
  ['kafka://a:9092/t?shape=xml', /shape="xml" must be one of envelope, streampark/],
  ['kafka://a:9092/t?partitions=3', /unknown parameter "partitions"/],
  ['kafka://a:9092/t?retries=-1', /retries="-1" must be an integer/],
  ['mysql://u:p@db:3306', /no database/],
  ['mysql://u:p@db:3306/app', /no table/],
  ['mysql://u:p@db:3306/app?table=', /no table/],
  ['mysql://u:p@db:3306/app?table=t%3Bdrop', /bad table name "t;drop"/],
  ['mysql://u:p@db:3306/a-b?table=t', /bad database name/],
  ['mysql://db:3306/app?table=t', /no user/],
  ['mysql://u:p@db/app?table=t', /has no port/],
  ['mysql://u:p@a:1,b:2/app?table=t', /more than one host/],
  ['webhdfs://nn:9870?user=u', /no path/],
  ['webhdfs://nn:9870/?user=u', /no path/],
  ['webhdfs://nn:9870/failover', /no user/],
  ['webhdfs://nn:9870/failover?user=u&format=yyyy-QQ', /unsupported pattern character "Q"/],
  ['webhdfs://nn:9870/failover?user=u&format=yyyy/../dd', /relative path segment/],
  ['webhdfs://nn:9870/failover?user=u&format=', /empty pattern/],
  ['hbase://rest:8080', /no table/],
  ['hbase://rest:8080/bad$table', /bad table name/],
  ['hbase://rest/t', /has no port/],
  ['redis://r:6379/0', /unknown store scheme "redis:"/],
  ['not a uri', /not a store URI/]
]

test('a malformed store URI throws ERR_INVALID_OPTION at once, naming what is wrong', () => {
  for (const [uri, why] of bad) {
    assert.throws(() => openStore(uri), (err: Error & { code?: string, field?: string }) => {
      assert.equal(err.code, 'ERR_INVALID_OPTION', uri)
      assert.equal(err.field, 'failover', uri)
      assert.match(err.message, why, uri)
      return true
    }, uri)
  }
  assert.throws(() => openStore('kafka://a:1', 'http.sink.failover'), { code: 'ERR_INVALID_OPTION', field: 'http.sink.failover' })
})

test('well-formed URIs open without connecting and report their settings', async () => {
  const stores = [
    openStore('kafka://a:9092,b:9093,[::1]:9094/fail.over-1?shape=streampark&clientId=app&group=g&timeout=500&retries=0&sessionTimeout=6000'),
    openStore('mysql://user:pw@127.0.0.1:1/app?table=http_failover&retries=0'),
    openStore('webhdfs://127.0.0.1:1/http/failover?user=etl&format=yyyy/MM/dd/HH'),
    openStore('hbase://127.0.0.1:1/ns:failover')
  ]
  assert.deepEqual(stores.map((s) => s.kind), ['kafka', 'mysql', 'webhdfs', 'hbase'])
  const kafka = stores[0] as unknown as { topic: string, shape: string, groupId: string }
  assert.deepEqual([kafka.topic, kafka.shape, kafka.groupId], ['fail.over-1', 'streampark', 'g'])
  for (const s of stores) await s.close()
  for (const s of stores) await s.close() // idempotent
  for (const s of stores) await assert.rejects(s.put(envelopes(1)), { code: 'ERR_STORE' })
})

test('a password never shows in store.uri, inspect(), or the errors of a store that cannot connect', async (t) => {
  const password = 'Hunter2-secret'
  // A port that refuses connections: the put must fail, and say so without the password.
  const port = await freePort()
  const store = openStore(`mysql://app:${password}@127.0.0.1:${port}/app?table=t&retries=1&timeout=2000`)
  t.after(() => store.close())
  assert.equal(store.uri, `mysql://app:***@127.0.0.1:${port}/app?table=t&retries=1&timeout=2000`)
  for (const shown of [inspect(store), inspect(store, { showHidden: true, depth: 10 }), JSON.stringify(store), String(store)]) {
    assert.ok(!shown.includes(password), `password leaked: ${shown}`)
  }
  const err = await store.put(envelopes(2)).then(() => assert.fail('put resolved with nothing listening'), (e: unknown) => e as Error & { code: string })
  assert.equal(err.code, 'ERR_STORE')
  assert.match(err.message, /ECONNREFUSED/)
  for (const shown of [err.message, String(err.stack), inspect(err, { depth: 10 })]) assert.ok(!shown.includes(password), `password leaked: ${shown}`)

  for (const uri of [`mysql://app:${password}@db:3306/app`, `mysql://app:${password}@db/app?table=t`, `mysql://app:${password}@db:3306/app?table=t&x=1`]) {
    assert.throws(() => openStore(uri), (e: Error) => !e.message.includes(password) && e.message.includes('***'))
  }
})

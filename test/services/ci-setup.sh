#!/bin/sh
# CI setup for the store tests' services, run after
#   apt-get install -y mariadb-server librdkafka-dev pkg-config build-essential
# The tests start every service themselves (a private mariadbd per test file, the librdkafka mock
# cluster compiled on first use), so this only checks that the pieces are there, fails loudly if
# one is not, and compiles the Kafka mock once so no test pays for it.
set -eu
cd "$(dirname "$0")/../.."

missing=0
[ -x /usr/sbin/mariadbd ] || { echo "ci-setup: /usr/sbin/mariadbd not found (apt-get install mariadb-server)" >&2; missing=1; }
command -v mariadb-install-db >/dev/null 2>&1 || command -v mysql_install_db >/dev/null 2>&1 ||
  { echo "ci-setup: mariadb-install-db not found (apt-get install mariadb-server)" >&2; missing=1; }
command -v cc >/dev/null 2>&1 || { echo "ci-setup: no C compiler (apt-get install build-essential)" >&2; missing=1; }
pkg-config --exists rdkafka 2>/dev/null || { echo "ci-setup: pkg-config cannot find rdkafka (apt-get install librdkafka-dev pkg-config)" >&2; missing=1; }
[ "$missing" -eq 0 ] || exit 1

# Debian's package may have started a system MariaDB; the tests do not use it.
if command -v service >/dev/null 2>&1; then service mariadb stop >/dev/null 2>&1 || true; fi

echo "ci-setup: $(/usr/sbin/mariadbd --version)"
echo "ci-setup: librdkafka $(pkg-config --modversion rdkafka)"
node --import tsx --input-type=module -e "
  const { buildKafkaMock } = await import('./test/services/kafka-mock.ts')
  const built = await buildKafkaMock()
  if (typeof built !== 'string') { console.error('ci-setup: ' + built.missing); process.exit(1) }
  console.log('ci-setup: kafka mock built at ' + built)
"

/** String and regular-expression functions. */
import type { Case } from '../case';
import { users } from '../fixtures';

const topic = 'strings';

export const stringCases: Case[] = [
  {
    id: 'str-concat-null-and-operator',
    topic,
    sql: "SELECT user_id, CONCAT(name, ' <', email, '>') AS contact, name || '/' || user_id AS path FROM shop.users WHERE user_id IN ('u1', 'u3')",
    expected: [
      { user_id: 'u1', contact: 'Ada Lovelace <ada@example.com>', path: 'Ada Lovelace/u1' },
      { user_id: 'u3', contact: null, path: 'Chloé Dubois/u3' },
    ],
    note: 'CONCAT with a NULL argument is NULL',
  },
  {
    id: 'str-case-functions',
    topic,
    sql: "SELECT UPPER(name) AS up, LOWER(email) AS low, INITCAP('ada lovelace-king') AS ini FROM shop.users WHERE user_id = 'u4'",
    expected: [{ up: 'DAN', low: 'dan@example.com', ini: 'Ada Lovelace-King' }],
  },
  {
    id: 'str-length-unicode',
    topic,
    sql: "SELECT LENGTH(name) AS chars, BYTE_LENGTH(name) AS bytes, UPPER(name) AS up, REVERSE(name) AS rev FROM shop.users WHERE user_id = 'u3'",
    expected: [{ chars: 12, bytes: 13, up: 'CHLOÉ DUBOIS', rev: 'siobuD éolhC' }],
    types: ['INT64', 'INT64', 'STRING', 'STRING'],
  },
  {
    id: 'str-substr-left-right',
    topic,
    sql: "SELECT SUBSTR(name, 1, 3) AS head, SUBSTR(name, -4) AS tail, SUBSTR(name, 5, 100) AS rest, LEFT(name, 2) AS l, RIGHT(name, 2) AS r FROM shop.users WHERE user_id = 'u1'",
    expected: [{ head: 'Ada', tail: 'lace', rest: 'Lovelace', l: 'Ad', r: 'ce' }],
  },
  {
    id: 'str-split-offset-domain',
    topic,
    sql: "SELECT user_id, SPLIT(email, '@')[OFFSET(1)] AS domain, ARRAY_LENGTH(SPLIT(name, ' ')) AS words FROM shop.users WHERE email IS NOT NULL",
    expected: users.filter((u) => u.email).map((u) => ({ user_id: u.user_id, domain: u.email!.split('@')[1], words: u.name.split(' ').length })),
  },
  {
    id: 'str-split-returns-array',
    topic,
    sql: "SELECT SPLIT('a,b,,c', ',') AS parts, SPLIT('x') AS single",
    expected: [{ parts: ['a', 'b', '', 'c'], single: ['x'] }],
    types: ['ARRAY<STRING>', 'ARRAY<STRING>'],
  },
  {
    id: 'str-search-functions',
    topic,
    // Not `AS at`: AT is a reserved keyword in BigQuery, so that alias is a syntax error there too.
    sql: "SELECT STRPOS(email, '@') AS at_sign, INSTR(email, 'e', 1, 2) AS second_e, STARTS_WITH(email, 'bob') AS sw, ENDS_WITH(email, '.fr') AS ew FROM shop.users WHERE user_id = 'u2'",
    expected: [{ at_sign: 11, second_e: 18, sw: true, ew: true }],
    note: "'bob.martin@example.fr': '@' is the 11th character, the 'e's are the 12th and 18th",
  },
  {
    id: 'str-trim-pad-replace-repeat',
    topic,
    sql: "SELECT TRIM('  x  ') AS t, LTRIM('xxabc', 'x') AS lt, RTRIM('abc..', '.') AS rt, LPAD('7', 3, '0') AS lp, RPAD('ab', 4, '-') AS rp, REPLACE('a-b-c', '-', '+') AS rep, REPEAT('ab', 3) AS rpt",
    expected: [{ t: 'x', lt: 'abc', rt: 'abc', lp: '007', rp: 'ab--', rep: 'a+b+c', rpt: 'ababab' }],
  },
  {
    id: 'str-format-specifiers',
    topic,
    sql: "SELECT FORMAT('%05d', 42) AS padded, FORMAT('%.2f', 3.14159) AS fixed, FORMAT('%s-%d', 'a', 3) AS mixed, FORMAT('%5s|', 'ab') AS right_aligned, FORMAT('%-5s|', 'ab') AS left_aligned, FORMAT('%x', 255) AS hex, FORMAT('%%') AS pct",
    expected: [{ padded: '00042', fixed: '3.14', mixed: 'a-3', right_aligned: '   ab|', left_aligned: 'ab   |', hex: 'ff', pct: '%' }],
    types: ['STRING', 'STRING', 'STRING', 'STRING', 'STRING', 'STRING', 'STRING'],
  },
  {
    id: 'str-format-report-line',
    topic,
    sql: "SELECT FORMAT('%s spent %.2f in %d orders', user_id, CAST(SUM(total) AS FLOAT64), COUNT(*)) AS line FROM shop.orders WHERE user_id = 'u3' GROUP BY user_id",
    expected: [{ line: 'u3 spent 17.75 in 2 orders' }],
    types: ['STRING'],
  },
  {
    id: 'str-regexp-contains',
    topic,
    sql: "SELECT user_id FROM shop.users WHERE REGEXP_CONTAINS(email, r'@example\\.(com|org)$')",
    expected: [{ user_id: 'u1' }, { user_id: 'u5' }],
    note: "u4's 'DAN@Example.COM' does not match: regular expressions are case-sensitive",
  },
  {
    id: 'str-regexp-contains-case-insensitive',
    topic,
    sql: "SELECT COUNT(*) AS n FROM shop.users WHERE REGEXP_CONTAINS(email, r'(?i)@example\\.com$')",
    expected: [{ n: 2 }],
  },
  {
    id: 'str-regexp-extract-group-and-no-match',
    topic,
    sql: "SELECT user_id, REGEXP_EXTRACT(email, r'^([^@.]+)') AS local_part, REGEXP_EXTRACT(email, r'\\.(fr)$') AS fr FROM shop.users",
    expected: users.map((u) => ({
      user_id: u.user_id,
      local_part: u.email ? /^([^@.]+)/.exec(u.email)![1] : null,
      fr: u.email?.endsWith('.fr') ? 'fr' : null,
    })),
    note: 'returns the capture group; NULL when there is no match or the input is NULL',
    types: ['STRING', 'STRING', 'STRING'],
  },
  {
    id: 'str-regexp-extract-whole-match',
    topic,
    sql: "SELECT REGEXP_EXTRACT('order o42 shipped', r'o\\d+') AS m, REGEXP_EXTRACT_ALL('a1b22c333', r'\\d+') AS all_numbers, REGEXP_EXTRACT_ALL('k=1;v=2', r'(\\w)=') AS keys",
    expected: [{ m: 'o42', all_numbers: ['1', '22', '333'], keys: ['k', 'v'] }],
    types: ['STRING', 'ARRAY<STRING>', 'ARRAY<STRING>'],
  },
  {
    id: 'str-regexp-replace-backreference',
    topic,
    sql: "SELECT REGEXP_REPLACE(name, r'[aeiou]', '*') AS masked, REGEXP_REPLACE(name, r'^(\\w+) (\\w+)$', r'\\2, \\1') AS swapped FROM shop.users WHERE user_id = 'u1'",
    expected: [{ masked: 'Ad* L*v*l*c*', swapped: 'Lovelace, Ada' }],
  },
  {
    id: 'str-like-patterns',
    topic,
    sql: "SELECT COUNT(DISTINCT event_id) AS p_subjects, COUNTIF(subject LIKE 'o_') AS order_subjects, COUNTIF(type NOT LIKE '%\\\\_%') AS no_underscore FROM shop.events WHERE subject LIKE 'p%' OR subject LIKE 'o%'",
    expected: [{ p_subjects: 18, order_subjects: 1, no_underscore: 15 }],
    note: '22 rows, of which e11 and e18 have a NULL subject: 20 rows for 18 events; 5 of them are add_to_cart (e09 twice)',
  },
  {
    id: 'str-binary-collation-order',
    topic,
    sql: 'SELECT name FROM shop.users ORDER BY name',
    expected: [{ name: 'Ada Lovelace' }, { name: 'Bob Martin' }, { name: 'Chloé Dubois' }, { name: 'Dan' }, { name: 'eve' }],
    ordered: true,
    note: "strings compare by code point: lowercase 'eve' sorts after the capitalised names",
  },
  {
    id: 'str-md5-hex',
    topic,
    sql: "SELECT TO_HEX(MD5('abc')) AS h, TO_HEX(b'\\x01\\xff') AS raw",
    expected: [{ h: '900150983cd24fb0d6963f7d28e17f72', raw: '01ff' }],
  },
  {
    id: 'str-email-domain-normalised-groups',
    topic,
    sql: "SELECT LOWER(SPLIT(email, '@')[SAFE_OFFSET(1)]) AS domain, COUNT(*) AS users FROM shop.users GROUP BY domain",
    expected: [
      { domain: 'example.com', users: 2 },
      { domain: 'example.fr', users: 1 },
      { domain: 'example.org', users: 1 },
      { domain: null, users: 1 },
    ],
  },
  {
    id: 'str-nullif-trim-coalesce',
    topic,
    sql: "SELECT COALESCE(NULLIF(TRIM(x), ''), 'unknown') AS v FROM UNNEST(['  a ', '   ', CAST(NULL AS STRING)]) AS x",
    expected: [{ v: 'a' }, { v: 'unknown' }, { v: 'unknown' }],
  },
];

'use strict';
// The installed version of an npm package (its own package.json), found by
// walking up from its resolved entry point (works whatever its "exports").
const fs = require('fs');
const path = require('path');

function packageInfo(name, entry) {
  let dir = path.dirname(require.resolve(entry || name));
  for (;;) {
    const f = path.join(dir, 'package.json');
    if (fs.existsSync(f)) {
      const j = JSON.parse(fs.readFileSync(f, 'utf8'));
      if (j.name === name) return { name, version: j.version, dir };
    }
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`package.json of ${name} not found`);
    dir = up;
  }
}

function packageVersion(name, entry) {
  return packageInfo(name, entry).version;
}

module.exports = { packageInfo, packageVersion };

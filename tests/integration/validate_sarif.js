// Validates SARIF files against the official SARIF 2.1.0 JSON schema (sarif-2.1.0-rtm.5.json
// as shipped in @microsoft/jest-sarif) with ajv 6 configured as that package configures it
// (draft-04 meta-schema). Installed by `tests/install-deps.sh npm` under build/tools/npm.
//
//   node validate_sarif.js TOOLS_DIR FILE...
// Prints "FILE: valid" or "FILE: invalid" with ajv's errors; exits 1 if any file is invalid.
'use strict';
const fs = require('fs');
const path = require('path');

const modules = path.resolve(process.argv[2], 'node_modules');
const Ajv = require(path.join(modules, 'ajv'));
const draft4 = require(path.join(modules, 'ajv', 'lib', 'refs', 'json-schema-draft-04.json'));
const schema = require(path.join(modules, '@microsoft', 'jest-sarif', 'lib', 'schemas',
                                 'sarif-2.1.0-rtm.5.json'));
const ajv = new Ajv({schemaId: 'auto', validateSchema: false, allErrors: true});
ajv.addMetaSchema(draft4);
const validate = ajv.compile(schema);

let failed = 0;
for (const file of process.argv.slice(3)) {
    let doc;
    try {
        doc = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (e) {
        console.log(`${file}: invalid: ${e.message}`);
        failed++;
        continue;
    }
    if (validate(doc)) {
        console.log(`${file}: valid`);
    } else {
        failed++;
        console.log(`${file}: invalid`);
        for (const err of validate.errors)
            console.log(`  ${err.dataPath || '/'} ${err.message} ${JSON.stringify(err.params)}`);
    }
}
process.exit(failed ? 1 : 0);

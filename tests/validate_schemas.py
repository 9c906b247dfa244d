#!/usr/bin/python3
"""Validate every case in the corpus against spec/case.schema.json and a
results.json against spec/results.schema.json (JSON Schema draft 2020-12).
The C loader is the authority on cases; this keeps the published schemas
true to it. Usage: validate_schemas.py ROOT RESULTS_JSON"""
import glob
import json
import os
import sys

from jsonschema import Draft202012Validator

root, results = sys.argv[1], sys.argv[2]
failed = 0
case_schema = json.load(open(os.path.join(root, "spec", "case.schema.json")))
Draft202012Validator.check_schema(case_schema)
cv = Draft202012Validator(case_schema)
cases = sorted(glob.glob(os.path.join(root, "cases", "**", "*.json"), recursive=True))
for path in cases:
    for err in cv.iter_errors(json.load(open(path))):
        print(f"{path}: {'/'.join(map(str, err.absolute_path))}: {err.message}")
        failed += 1
res_schema = json.load(open(os.path.join(root, "spec", "results.schema.json")))
Draft202012Validator.check_schema(res_schema)
for err in Draft202012Validator(res_schema).iter_errors(json.load(open(results))):
    print(f"{results}: {'/'.join(map(str, err.absolute_path))}: {err.message}")
    failed += 1
print(f"schemas: {len(cases)} cases and 1 results.json checked, {failed} problem(s)")
sys.exit(1 if failed else 0)

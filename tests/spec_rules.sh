#!/usr/bin/env bash
# spec/rules.def and the prose in spec/*.md must name the same rules with the
# same levels, and every case must cite only known rules (the loader checks
# that; here we check the two spec sources agree).
set -euo pipefail
root=$1
def=$(grep -o '^ESMC_RULE("[A-Z0-9-]*", [A-Z]*' "$root/spec/rules.def" | sed 's/ESMC_RULE("\([^"]*\)", \(.*\)/\1 (\2)/' | sort)
doc=$(grep -ho '^### [A-Z0-9-]* ([A-Z]*)' "$root"/spec/*.md | sed 's/^### //' | sort)
if [ "$def" != "$doc" ]; then
  echo "spec/rules.def and the spec prose disagree:"
  diff <(echo "$def") <(echo "$doc") || true
  exit 1
fi
echo "spec: $(echo "$def" | wc -l) rules in rules.def, each documented once with its level"

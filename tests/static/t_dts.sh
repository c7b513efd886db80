#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Static checks of the device-tree files in dts/: the binding is a valid
# DT schema, its example and the arm64 kiosk overlay compile with dtc
# without warnings and validate against the binding.  Prints KTAP; exit
# status 0 only if every check passed.
#
# Tools (Debian): dtc and fdtoverlay from device-tree-compiler,
# dt-doc-validate, dt-extract-example, dt-mk-schema and dt-validate from
# dt-schema.  Nothing is installed here: a missing tool fails the checks
# that need it.

set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BINDING=$ROOT/dts/bindings/bioreader,br1.yaml
OVERLAY=$ROOT/dts/overlays/bioreader-kiosk-arm64.dtso
COMPAT=bioreader,br1

# Flags the kernel uses for binding examples (Documentation/devicetree/
# bindings/Makefile): the wrapper dt-extract-example puts around an
# example is an interrupt provider with address cells and no "reg", which
# dtc would otherwise warn about.  The overlay gets no such exemptions.
EXAMPLE_DTC_FLAGS="-Wno-avoid_unnecessary_addr_size -Wno-graph_child_address
 -Wno-interrupt_provider -Wno-unique_unit_address
 -Wunique_unit_address_if_enabled"

. "$ROOT/tests/static/lib/ktap.sh"

# check NAME CMD... : ok if CMD exits 0 and prints nothing at all
# (dt-validate and dt-doc-validate report problems on stderr but still
# exit 0, and dtc warnings do not change its exit status either).
check_quiet() {
	local name=$1 rc

	shift
	"$@" >"$TMP/out" 2>&1
	rc=$?
	if [ $rc -eq 0 ] && [ ! -s "$TMP/out" ]; then
		ok "$name"
		return 0
	fi
	diag_file "$TMP/out"
	not_ok "$name" "exit status $rc"
	return 1
}

PLAN=9
echo "KTAP version 1"
echo "1..$PLAN"

# 1: the overlay, exactly as an appliance maker builds it.
if t=$(missing dtc); then
	not_ok "overlay compiles with dtc -@ without warnings" "tool missing: $t"
else
	check_quiet "overlay compiles with dtc -@ without warnings" \
		dtc -@ -I dts -O dtb -o "$TMP/overlay.dtbo" "$OVERLAY"
fi

# 2: the binding against the DT meta-schema.
if t=$(missing dt-doc-validate); then
	not_ok "binding passes dt-doc-validate" "tool missing: $t"
else
	check_quiet "binding passes dt-doc-validate" \
		dt-doc-validate -u "$ROOT/dts/bindings" "$BINDING"
fi

# 3: the processed schema: dt-schema's core schemas plus ours.
if t=$(missing dt-mk-schema); then
	not_ok "processed schema builds" "tool missing: $t"
else
	if dt-mk-schema -j -o "$TMP/schema.json" "$ROOT/dts/bindings" \
			>"$TMP/out" 2>&1 && [ ! -s "$TMP/out" ] &&
	   grep -q "\"$COMPAT\"" "$TMP/schema.json"; then
		ok "processed schema builds"
	else
		diag_file "$TMP/out"
		not_ok "processed schema builds"
	fi
fi

# 4: the example compiles.
if t=$(missing dt-extract-example dtc); then
	not_ok "binding example compiles with dtc" "tool missing: $t"
else
	if dt-extract-example "$BINDING" >"$TMP/example.dts" 2>"$TMP/out" &&
	   [ ! -s "$TMP/out" ]; then
		# shellcheck disable=SC2086
		check_quiet "binding example compiles with dtc" \
			dtc $EXAMPLE_DTC_FLAGS -@ -I dts -O dtb \
			-o "$TMP/example.dtb" "$TMP/example.dts"
	else
		diag_file "$TMP/out"
		not_ok "binding example compiles with dtc" "extraction failed"
	fi
fi

have_schema() {
	[ -s "$TMP/schema.json" ] && ! missing dt-validate >/dev/null
}

# 5: the example validates, and our schema is the one that matched it
# (-m reports compatibles no schema knows).
if t=$(missing dt-validate); then
	not_ok "binding example validates against the binding" "tool missing: $t"
elif ! have_schema || [ ! -s "$TMP/example.dtb" ]; then
	not_ok "binding example validates against the binding" "no schema or example"
else
	check_quiet "binding example validates against the binding" \
		dt-validate -m -s "$TMP/schema.json" "$TMP/example.dtb"
fi

# 6: negative control: the same example with a swapped clock-names, a
# missing supply and an unknown property must be rejected, so that a
# silent validator cannot pass test 5.
if t=$(missing dt-validate dtc); then
	not_ok "validator rejects a broken node" "tool missing: $t"
elif ! have_schema || [ ! -s "$TMP/example.dts" ]; then
	not_ok "validator rejects a broken node" "no schema or example"
else
	sed -e 's/"core", "pix"/"pix", "core"/' \
	    -e '/illuminator-supply/d' \
	    -e 's/dma-coherent;/dma-coherent; bogus-property = <1>;/' \
		"$TMP/example.dts" >"$TMP/broken.dts"
	# shellcheck disable=SC2086
	dtc -q $EXAMPLE_DTC_FLAGS -@ -I dts -O dtb -o "$TMP/broken.dtb" \
		"$TMP/broken.dts" 2>/dev/null
	dt-validate -s "$TMP/schema.json" "$TMP/broken.dtb" >"$TMP/out" 2>&1
	want=0
	grep -q "clock-names" "$TMP/out" && want=$((want + 1))
	grep -q "'illuminator-supply' is a required property" "$TMP/out" &&
		want=$((want + 1))
	grep -q "bogus-property" "$TMP/out" && want=$((want + 1))
	if [ $want -eq 3 ]; then
		ok "validator rejects a broken node"
	else
		diag_file "$TMP/out"
		not_ok "validator rejects a broken node" "$want of 3 errors found"
	fi
fi

# 7-8: the overlay applied to a minimal arm64 base tree (GIC, a GPIO
# controller, a 64-bit /soc bus) and the result checked against the
# binding.
cat >"$TMP/base.dts" <<'BASE'
/dts-v1/;
/ {
	compatible = "example,kiosk-board", "example,soc";
	model = "Minimal arm64 kiosk base tree";
	#address-cells = <2>;
	#size-cells = <2>;
	interrupt-parent = <&gic>;

	soc {
		compatible = "simple-bus";
		#address-cells = <2>;
		#size-cells = <2>;
		ranges;

		gic: interrupt-controller@fd400000 {
			compatible = "arm,gic-v3";
			reg = <0x0 0xfd400000 0x0 0x10000>,
			      <0x0 0xfd460000 0x0 0xc0000>;
			#address-cells = <0>;
			#interrupt-cells = <3>;
			interrupt-controller;
		};

		gpio0: gpio@fdd60000 {
			compatible = "example,soc-gpio";
			reg = <0x0 0xfdd60000 0x0 0x100>;
			gpio-controller;
			#gpio-cells = <2>;
		};
	};
};
BASE
if t=$(missing dtc fdtoverlay); then
	not_ok "overlay applies to an arm64 base tree" "tool missing: $t"
elif [ ! -s "$TMP/overlay.dtbo" ]; then
	not_ok "overlay applies to an arm64 base tree" "overlay did not build"
elif dtc -@ -I dts -O dtb -o "$TMP/base.dtb" "$TMP/base.dts" \
		>"$TMP/out" 2>&1 && [ ! -s "$TMP/out" ] &&
     fdtoverlay -i "$TMP/base.dtb" -o "$TMP/merged.dtb" \
		"$TMP/overlay.dtbo" >"$TMP/out" 2>&1 &&
     [ "$(fdtget "$TMP/merged.dtb" /soc/biometric@fe2c0000 compatible)" = "$COMPAT" ]; then
	ok "overlay applies to an arm64 base tree"
else
	diag_file "$TMP/out"
	not_ok "overlay applies to an arm64 base tree"
fi

if t=$(missing dt-validate); then
	not_ok "overlay's reader node validates against the binding" "tool missing: $t"
elif ! have_schema || [ ! -s "$TMP/merged.dtb" ]; then
	not_ok "overlay's reader node validates against the binding" "no schema or merged tree"
else
	check_quiet "overlay's reader node validates against the binding" \
		dt-validate -s "$TMP/schema.json" "$TMP/merged.dtb"
fi

# 9: the driver matches the compatible the binding documents.
glue=$(grep -l "of_device_id" "$ROOT"/kernel/*.c 2>/dev/null | head -n 1)
if [ -z "$glue" ]; then
	skip "driver of_match_table carries $COMPAT" "no platform glue in kernel/ yet"
elif grep -q "\"$COMPAT\"" "$glue"; then
	ok "driver of_match_table carries $COMPAT"
else
	not_ok "driver of_match_table carries $COMPAT" "not in ${glue#"$ROOT"/}"
fi

ktap_done

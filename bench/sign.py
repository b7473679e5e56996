"""Benchmark: sign and verify a mid-size UBL document, side by side in one run.

    .venv/bin/python bench/sign.py [--n 200] [--batch 10] [--xmlsec-n 40] [--rounds 3]
                                   [--kind rsa|ec]
                                   [--example UBL-ExportCustomsDeclaration-2.3-Example.xml]

(a) the ``signing`` package: ``Signer(identity).sign(tree, order=...)`` (copy, UBL placement,
    XAdES-BES) and ``verify_document(tree, trust=..., country="KZ")`` (pinned location,
    allow-lists, XAdES, chain to the KZ trust list, CRL);
(b) signxml called directly with the same algorithm, canonicalisation and placement (the
    placeholder prepared once), verified with ``XAdESVerifier`` and the pinned location;
(c) ``xmlsec1 --sign`` / ``xmlsec1 --verify`` as one process per document.
Prints operations per second and the ratios a/b (target >= 0.8) and a/c. The key is loaded
once as a key object for (a) and (b). Keys and certificates are generated for the run.
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lxml import etree

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

STANDARD = REPO.parent / "shared" / "standards" / "ubl-2.4"
C14N = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
DS = "http://www.w3.org/2000/09/xmldsig#"
XADES_PROPS = "http://uri.etsi.org/01903/v1.3.2#:SignedProperties"


def rate(fn, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return n / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--xmlsec-n", type=int, default=40)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--batch", type=int, default=10)
    ap.add_argument("--kind", choices=["rsa", "ec"], default="rsa")
    ap.add_argument("--example", default="UBL-ExportCustomsDeclaration-2.3-Example.xml")
    args = ap.parse_args()

    from signxml import CanonicalizationMethod, DigestAlgorithm, SignatureMethod
    from signxml.xades import XAdESSignatureConfiguration, XAdESSigner, XAdESVerifier

    from signing import Signer, TrustStore, verify_document
    from signing.placement import UBL_PATH, insert_placeholder, root_child_order
    from signing.safexml import parse_xml
    from signing.demopki import DemoPKI

    work = Path(tempfile.mkdtemp(prefix="bench-sign-"))
    try:
        pki = DemoPKI(work)
        leaf = pki.leaf("KZ", kind=args.kind)
        trust = TrustStore(pki.trust_dir(work / "trust", ["KZ", "UZ"]))
        data = (STANDARD / "xml" / args.example).read_bytes()
        tree = parse_xml(data)
        root_name = etree.QName(tree.getroot()).localname
        order = root_child_order(STANDARD / "xsd" / "maindoc" / f"UBL-{root_name}-2.4.xsd")
        identity = leaf.identity()
        signer = Signer(identity)
        alg = f"{'ecdsa' if args.kind == 'ec' else 'rsa'}-sha256"

        # (a) our API
        def a_sign():
            return etree.tostring(signer.sign(tree, order=order))

        signed_a = parse_xml(a_sign())

        def a_verify():
            assert verify_document(signed_a, trust=trust, country="KZ").all_valid

        # (b) signxml directly, same placement (placeholder prepared once)
        prepared = parse_xml(data).getroot()
        insert_placeholder(prepared, order=order)

        def b_sign():
            s = XAdESSigner(signature_algorithm=SignatureMethod.from_fragment(alg),
                            digest_algorithm=DigestAlgorithm.SHA256,
                            c14n_algorithm=CanonicalizationMethod(C14N))
            return etree.tostring(s.sign(prepared, key=leaf.key, cert=[leaf.cert],
                                         always_add_key_value=False))

        signed_b = parse_xml(b_sign()).getroot()
        location = "./" + "/".join(reversed(UBL_PATH)) + "/"
        config = XAdESSignatureConfiguration(location=location)

        def b_verify():
            XAdESVerifier().verify(signed_b, x509_cert=leaf.cert, expect_config=config)

        # (c) xmlsec1, one process per document
        xmlsec = shutil.which("xmlsec1")
        signed_path = work / "signed.xml"
        signed_path.write_bytes(etree.tostring(signed_a))
        template = work / "template.xml"
        tpl = parse_xml(etree.tostring(signed_a)).getroot()
        for el in tpl.iter(f"{{{DS}}}DigestValue", f"{{{DS}}}SignatureValue"):
            if el.getparent().tag == f"{{{DS}}}Reference" or el.tag.endswith("SignatureValue"):
                el.text = ""
        template.write_bytes(etree.tostring(tpl))
        ids = ["--id-attr:Id", XADES_PROPS, "--id-attr:Id", f"{DS}:KeyInfo"]

        def c_sign():
            subprocess.run([xmlsec, "--sign", *ids, "--privkey-pem",
                            f"{leaf.key_path},{leaf.cert_path}", "--output",
                            str(work / "c.xml"), str(template)], check=True,
                           capture_output=True)

        def c_verify():
            subprocess.run([xmlsec, "--verify", *ids, "--trusted-pem",
                            str(pki.ca("KZ").cert_path), str(signed_path)], check=True,
                           capture_output=True)

        for fn in (a_sign, a_verify, b_sign, b_verify):  # warm-up
            rate(fn, 5)
        if xmlsec:
            c_sign(), c_verify()
        # Interleave small batches of each (the machine is shared: load drifts), and take
        # the median batch rate of each.
        fns = {"a_sign": (a_sign, args.batch), "b_sign": (b_sign, args.batch),
               "a_ver": (a_verify, args.batch), "b_ver": (b_verify, args.batch)}
        if xmlsec:
            fns.update(c_sign=(c_sign, 2), c_ver=(c_verify, 2))
        results: dict[str, list[float]] = {k: [] for k in fns}
        batches = max(1, args.n // args.batch)
        for i in range(batches * args.rounds):
            for key, (fn, size) in fns.items():
                if key.startswith("c_") and i % max(1, batches // max(1, args.xmlsec_n // 2)):
                    continue
                results[key].append(rate(fn, size))

        def med(k):
            return statistics.median(results[k]) if results.get(k) else float("nan")

        print(f"document: {args.example} ({len(data):,} bytes), key: {args.kind} ({alg}); "
              f"{args.rounds} x {args.n} ops each for (a) and (b), interleaved in batches of "
              f"{args.batch}; median batch rate")
        print(f"{'':8}{'(a) signing':>14}{'(b) signxml':>14}{'(c) xmlsec1':>14}"
              f"{'a/b':>8}{'a/c':>8}")
        for op, key in (("sign", "sign"), ("verify", "ver")):
            a, b, c = med(f"a_{key}"), med(f"b_{key}"), med(f"c_{key}")
            print(f"{op:8}{a:>12.1f}/s{b:>12.1f}/s{c:>12.1f}/s{a / b:>8.2f}{a / c:>8.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

"""UN/EDIFACT directory D.96B as data: the CUSDEC and CUSRES message structures and the
formats of the segments the CAREC profile writes or reads (see :mod:`adapters.edifact`).

Transcribed by us from the public UN/EDIFACT directory D.96B (message structures, segment
and composite directories) and the syntax rules of ISO 9735 (service segments); checked
against an independently maintained grammar in ``tests/unit/test_edifact_structure.py``.
:mod:`adapters.edifact_syntax` reads this text once; the same data checks what we write and
what we read.

Message structures, one line per entry, nesting by indentation (two spaces)::

    TAG M|C <max repeats>        a segment, mandatory or conditional
    SG<n> M|C <max repeats>      a segment group; its first member is its trigger (M 1).
                                 Groups are numbered in order of appearance, as in the
                                 directory (the reader checks the numbering).

Segment formats: the tag, then one line per data element (a composite may go on over
indented lines); `` x<n>`` repeats an element or a component n times::

    TAG
      <code> M|C <format>                      a simple data element
      <code> M|C (<code> M|C <format>, ...)    a composite and its components

Formats as in the directories: ``a``, ``n``, ``an`` then ``..<max>`` or an exact length.
Every segment of the CUSRES structure has its formats here, and those the profile writes in
a CUSDEC; the other CUSDEC segments (the profile never writes them) are checked for their
place only.
"""
from __future__ import annotations

__all__ = ["SEGMENTS", "SERVICE_SEGMENTS", "STRUCTURES"]

_CUSDEC = """
UNH M 1
BGM M 1
CST C 1
LOC C 99
DTM C 15
GIS C 25
FII C 1
MEA C 5
EQD C 999
SEL C 999
FTX C 99
SG1 C 99
  RFF M 1
  DTM C 1
  SG2 C 10
    PAC M 1
    SG3 C 999
      PCI M 1
      FTX C 1
SG4 C 5
  TDT M 1
  TPL C 1
SG5 C 10
  DOC M 1
  DTM C 2
  LOC C 1
SG6 C 10
  NAD M 1
  RFF C 10
  CTA C 1
  COM C 5
SG7 C 1
  TOD M 1
  LOC C 2
  FTX C 1
SG8 C 25
  MOA M 1
  SG9 C 1
    CUX M 1
    DTM C 1
UNS M 1
SG10 C 999
  DMS M 1
  DTM C 1
  MEA C 5
  SG11 C 25
    MOA M 1
    SG12 C 1
      CUX M 1
      DTM C 1
  SG13 C 1
    TOD M 1
    LOC C 2
    FTX C 1
  SG14 C 10
    NAD M 1
    SG15 C 10
      DOC M 1
      DTM C 2
      LOC C 1
  SG16 C 10
    PAC M 1
    SG17 C 999
      PCI M 1
      FTX C 1
      RFF C 1
  SG18 C 5
    PAT M 1
    MOA C 1
    PCD C 1
    FTX C 1
  SG19 C 10
    ALC M 1
    RTE C 1
    MOA C 1
    PCD C 1
    QTY C 1
    SG20 C 1
      CUX M 1
      DTM C 1
  SG21 C 9999
    LIN M 1
    PIA C 1
    QTY C 1
    PRI C 2
    PCD C 1
    MEA C 5
    QVR C 5
    MOA C 15
    NAD C 10
    GIR C 9999
    SG22 C 10
      DOC M 1
      DTM C 2
    SG23 C 10
      ALC M 1
      RTE C 1
      MOA C 1
      PCD C 1
      QTY C 1
      SG24 C 1
        CUX M 1
        DTM C 1
    SG25 C 1
      TOD M 1
      LOC C 2
    SG26 C 5
      PAT M 1
      MOA C 1
      PCD C 1
      FTX C 1
    SG27 C 5
      IMD M 1
      FTX C 1
    SG28 C 10
      PAC M 1
      SG29 C 999
        PCI M 1
        FTX C 1
        RFF C 1
SG30 C 9999
  CST M 1
  FTX C 9
  LOC C 25
  DTM C 5
  MEA C 20
  NAD C 5
  TDT C 9
  SG31 C 10
    PAC M 1
    SG32 C 999
      PCI M 1
      FTX C 1
  SG33 C 25
    MOA M 1
    SG34 C 1
      CUX M 1
      DTM C 1
  SG35 C 999
    RFF M 1
    DTM C 1
    GIN C 99
    MOA C 1
    SG36 C 1
      IMD M 1
      FTX C 5
  SG37 C 25
    DOC M 1
    DTM C 2
    LOC C 1
    NAD C 5
  SG38 C 1
    TOD M 1
    LOC C 2
    FTX C 1
  SG39 C 1
    GDS M 1
    FTX C 1
  SG40 C 25
    GIS M 1
    PCD C 1
    DTM C 1
    RFF C 1
  SG41 C 10
    TAX M 1
    MOA C 2
    GIS C 1
  SG42 C 1
    QVR M 1
    QTY C 1
    SG43 C 1
      RFF M 1
      DTM C 1
  SG44 C 50
    GIR M 1
    GIS C 10
    NAD C 1
    MEA C 5
    SG45 C 10
      MOA M 1
      SG46 C 1
        CUX M 1
        DTM C 1
    SG47 C 10
      TAX M 1
      MOA C 2
      GIS C 1
    SG48 C 5
      DOC M 1
      DTM C 2
      LOC C 1
UNS M 1
CNT C 5
SG49 C 50
  TAX M 1
  MOA C 2
  GIS C 1
SG50 C 1
  AUT M 1
  DTM C 1
UNT M 1
"""

_CUSRES = """
UNH M 1
BGM M 1
DTM C 9
FTX C 9
TDT C 9
LOC C 99
GIS C 10
EQD C 999
SG1 C 9
  NAD M 1
  SG2 C 9
    CTA M 1
    COM C 9
SG3 C 999
  RFF M 1
  DTM C 9
  LOC C 9
SG4 C 99
  ERP M 1
  RFF C 9
  ERC C 99
  FTX C 99
SG5 C 99
  TAX M 1
  MOA C 99
  GIS C 99
SG6 C 9999
  DOC M 1
  PAC C 9
  RFF C 9
  PCI C 9
  FTX C 9
  TDT C 9
  LOC C 9
  DTM C 9
  GIS C 9
  MEA C 99
  EQD C 999
  SG7 C 9
    NAD M 1
    SG8 C 9
      CTA M 1
      COM C 9
  SG9 C 99
    MOA M 1
    CUX C 9
  SG10 C 9999
    CST M 1
    FTX C 9
    SG11 C 99
      TAX M 1
      MOA C 99
      GIS C 99
      MEA C 9
      RFF C 9
  SG12 C 9999
    ERP M 1
    RFF C 9
    ERC C 99
    FTX C 9
CNT C 9
SG13 C 9
  AUT M 1
  DTM C 9
UNT M 1
"""

STRUCTURES = {"CUSDEC": _CUSDEC, "CUSRES": _CUSRES}

SEGMENTS = """
BGM
  C002 C (1001 C an..3, 1131 C an..3, 3055 C an..3, 1000 C an..35)
  C106 C (1004 C an..35, 1056 C an..9, 1060 C an..6)
  1225 C an..3
  4343 C an..3
CST
  1496 C n..5
  C246 C (7361 M an..18, 1131 C an..3, 3055 C an..3) x5
LOC
  3227 M an..3
  C517 C (3225 C an..25, 1131 C an..3, 3055 C an..3, 3224 C an..70)
  C519 C (3223 C an..25, 1131 C an..3, 3055 C an..3, 3222 C an..70)
  C553 C (3233 C an..25, 1131 C an..3, 3055 C an..3, 3232 C an..70)
  5479 C an..3
DTM
  C507 M (2005 M an..3, 2380 C an..35, 2379 C an..3)
GIS
  C529 M (7365 M an..3, 1131 C an..3, 3055 C an..3, 7187 C an..17)
MEA
  6311 M an..3
  C502 C (6313 C an..3, 6321 C an..3, 6155 C an..17, 6154 C an..70)
  C174 C (6411 M an..3, 6314 C an..18, 6162 C n..18, 6152 C n..18, 6432 C n..2)
  7383 C an..3
FTX
  4451 M an..3
  4453 C an..3
  C107 C (4441 M an..17, 1131 C an..3, 3055 C an..3)
  C108 C (4440 M an..70, 4440 C an..70 x4)
  3453 C an..3
RFF
  C506 M (1153 M an..3, 1154 C an..35, 1156 C an..6, 4000 C an..35)
NAD
  3035 M an..3
  C082 C (3039 M an..35, 1131 C an..3, 3055 C an..3)
  C058 C (3124 M an..35, 3124 C an..35 x4)
  C080 C (3036 M an..35, 3036 C an..35 x4, 3045 C an..3)
  C059 C (3042 M an..35, 3042 C an..35 x3)
  3164 C an..35
  3229 C an..9
  3251 C an..9
  3207 C an..3
MOA
  C516 M (5025 M an..3, 5004 C n..18, 6345 C an..3, 6343 C an..3, 4405 C an..3)
CUX
  C504 C (6347 M an..3, 6345 C an..3, 6343 C an..3, 6348 C n..4) x2
  5402 C n..12
  6341 C an..3
UNS
  0081 M a1
TAX
  5283 M an..3
  C241 C (5153 C an..3, 1131 C an..3, 3055 C an..3, 5152 C an..35)
  C533 C (5289 M an..6, 1131 C an..3, 3055 C an..3)
  5286 C an..15
  C243 C (5279 C an..7, 1131 C an..3, 3055 C an..3, 5278 C an..17, 5273 C an..12,
          1131 C an..3, 3055 C an..3)
  5305 C an..3
  3446 C an..20
ERP
  C701 C (1049 C an..3, 1052 C an..35, 1054 C n..6)
  C853 C (9166 C an..3, 1050 C an..10, 1159 C an..3)
ERC
  C901 M (9321 M an..8, 1131 C an..3, 3055 C an..3)
DOC
  C002 M (1001 C an..3, 1131 C an..3, 3055 C an..3, 1000 C an..35)
  C503 C (1004 C an..35, 1373 C an..3, 1366 C an..35, 3453 C an..3)
  3153 C an..3
  1220 C n..2
  1218 C n..2
CNT
  C270 M (6069 M an..3, 6066 M n..18, 6411 C an..3)
TDT
  8051 M an..3
  8028 C an..17
  C220 C (8067 C an..3, 8066 C an..17)
  C228 C (8179 C an..8, 8178 C an..17)
  C040 C (3127 C an..17, 1131 C an..3, 3055 C an..3, 3128 C an..35)
  8101 C an..3
  C401 C (8457 M an..3, 8459 M an..3, 7130 C an..17)
  C222 C (8213 C an..9, 1131 C an..3, 3055 C an..3, 8212 C an..35, 8453 C an..3)
  8281 C an..3
EQD
  8053 M an..3
  C237 C (8260 C an..17, 1131 C an..3, 3055 C an..3, 3207 C an..3)
  C224 C (8155 C an..10, 1131 C an..3, 3055 C an..3, 8154 C an..35)
  8077 C an..3
  8249 C an..3
  8169 C an..3
CTA
  3139 C an..3
  C056 C (3413 C an..17, 3412 C an..35)
COM
  C076 M (3148 M an..512, 3155 M an..3)
PAC
  7224 C n..8
  C531 C (7075 C an..3, 7233 C an..3, 7073 C an..3)
  C202 C (7065 C an..17, 1131 C an..3, 3055 C an..3, 7064 C an..35)
  C402 C (7077 M an..3, 7064 M an..35, 7143 C an..3, 7064 C an..35, 7143 C an..3)
  C532 C (8395 C an..3, 8393 C an..3)
PCI
  4233 C an..3
  C210 C (7102 M an..35, 7102 C an..35 x9)
  8275 C an..3
  C827 C (7511 M an..3, 1131 C an..3, 3055 C an..3)
AUT
  9280 M an..35
  9282 C an..35
"""

# ISO 9735 service segments. UNB date 0017: n6 (YYMMDD) up to syntax version 3, n8
# (CCYYMMDD) in version 4; :mod:`adapters.edifact_syntax` checks it by the version.
SERVICE_SEGMENTS = """
UNB
  S001 M (0001 M a4, 0002 M n1, 0080 C an..6, 0133 C an..3)
  S002 M (0004 M an..35, 0007 C an..4, 0008 C an..35, 0042 C an..35)
  S003 M (0010 M an..35, 0007 C an..4, 0014 C an..35, 0046 C an..35)
  S004 M (0017 M n..8, 0019 M n4)
  0020 M an..14
  S005 C (0022 M an..14, 0025 C an2)
  0026 C an..14
  0029 C a1
  0031 C n1
  0032 C an..35
  0035 C n1
UNH
  0062 M an..14
  S009 M (0065 M an..6, 0052 M an..3, 0054 M an..3, 0051 M an..2, 0057 C an..6)
  0068 C an..35
  S010 C (0070 M n..2, 0073 C a1)
UNT
  0074 M n..6
  0062 M an..14
UNZ
  0036 M n..6
  0020 M an..14
"""

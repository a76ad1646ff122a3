// Executable packers: UPX and look-alikes. Packing hides code from static analysis, so a packed
// binary in a drop is worth a closer look (many droppers are UPX-packed, often with edited
// headers; the markers below survive most of those edits).

import "pe"

rule packer_upx
{
    meta:
        description = "Executable packed with UPX"
        severity = "medium"
        category = "evasion"
        attack = "T1027.002"
    strings:
        $magic = "UPX!"
        $info = "$Info: This file is packed with the UPX"
    condition:
        (uint32(0) == 0x464c457f or uint16(0) == 0x5a4d or uint32(0) == 0xfeedfacf or uint32(0) == 0xcffaedfe)
        and ($info or $magic)
}

rule packer_upx_sections
{
    meta:
        description = "PE with UPX section names (UPX0/UPX1)"
        severity = "medium"
        category = "evasion"
        attack = "T1027.002"
    condition:
        for any section in pe.sections : (section.name == "UPX0" or section.name == "UPX1")
}

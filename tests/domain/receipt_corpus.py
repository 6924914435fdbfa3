"""Real-world delivery receipts, each with where it was seen and what it must parse to.

Every case names its source: carriers' and gateways' public documentation, the test suites and
issue trackers of SMPP libraries and gateways. Where a source shows a whole PDU on the wire
(`pdu_hex`), the case is decoded with our own codec first. Cases marked *reconstructed* follow
the documented or reported format with representative values where the source shows only a
template, a log line or a fragment; the comment says what was taken from the source.

`expected` is the exact `Receipt`, or None when the receipt must come back as a
`ReceiptParseError` whose reason contains `reason`. `status` is the contract status the receipt
settles its part in (None: not final). `submit_id` / `id_mode`: the submit_sm_resp id the
source pairs with the receipt and the carrier `receipt_id` mode under which they must meet.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from connector.domain.message_ids import Mode
from connector.domain.receipts import Receipt, ReceiptStatus
from connector.smpp import constants as c
from connector.smpp.pdu import TlvValue

RMID = c.TAG_RECEIPTED_MESSAGE_ID
STATE = c.TAG_MESSAGE_STATE
NEC = c.TAG_NETWORK_ERROR_CODE
PAYLOAD = c.TAG_MESSAGE_PAYLOAD


@dataclass(frozen=True)
class ReceiptCase:
    name: str
    source: str
    expected: Receipt | None
    status: ReceiptStatus | None = None
    short_message: bytes = b""
    tlvs: dict[int, TlvValue] = field(default_factory=dict)
    esm_class: int = c.ESM_CLASS_SMSC_DELIVERY_RECEIPT
    data_coding: int = 0
    command: Literal["deliver_sm", "data_sm"] = "deliver_sm"
    pdu_hex: str | None = None
    reason: str = ""
    submit_id: str | None = None
    id_mode: Mode = "as_is"


def _r(message_id: str, stat: str, **kw: object) -> Receipt:
    return Receipt(message_id=message_id, stat=stat, **kw)  # type: ignore[arg-type]


UUID_JASMIN = "16fd2706-8baf-433b-82eb-8c7fada847da"

CORPUS: tuple[ReceiptCase, ...] = (
    # --- the SMPP 3.4 Appendix B form, as documented by carriers and gateways ---------------
    ReceiptCase(
        # Adobe Campaign Classic docs, SMS connector "SR and error management (Appendix B)":
        # "Example of a SR text field matching exactly the Appendix B recommendation".
        name="appendix_b_adobe_campaign",
        source="Adobe Campaign Classic documentation, SMPP connector, SR text field format",
        short_message=b"id:1234567890 sub:001 dlvrd:001 submit date:1608011415 "
        b"done date:1608011417 stat:DELIVRD err:000 Text:Hello Adobe world",
        expected=_r(
            "1234567890",
            "DELIVRD",
            err="000",
            submit_date="2016-08-01T14:15:00Z",
            done_date="2016-08-01T14:17:00Z",
            sub=1,
            dlvrd=1,
            text="Hello Adobe world",
        ),
        status="delivered",
    ),
    ReceiptCase(
        # Vonage (Nexmo) help centre, "How to read a Nexmo SMPP Delivery Receipt": ids "can be
        # in decimal or hexadecimal depending on your account configuration".
        name="vonage_nexmo_help_centre",
        source="https://help.nexmo.com/hc/en-us/articles/215468998",
        short_message=b"id:0000000012345678 sub:001 dlvrd:001 submit date:1601010100 "
        b"done date:1601010101 stat:DELIVRD err:000 text:none",
        expected=_r(
            "0000000012345678",
            "DELIVRD",
            err="000",
            submit_date="2016-01-01T01:00:00Z",
            done_date="2016-01-01T01:01:00Z",
            sub=1,
            dlvrd=1,
            text="none",
        ),
        status="delivered",
        submit_id="12345678",  # leading zeros differ between the two ids
        id_mode="auto",
    ),
    ReceiptCase(
        # smppcenter.com KB: 20-digit id (beyond 64 bits) and 12-digit YYMMDDhhmmss dates.
        name="smppcenter_12_digit_dates",
        source="https://smppcenter.com/kb/how-read-smpp-delivery-receipt",
        short_message=b"id:64567564356765435676 sub:001 dlvrd:001 submit date:190608165232 "
        b"done date:190608165237 stat:DELIVRD err:000 text:Hello World",
        expected=_r(
            "64567564356765435676",
            "DELIVRD",
            err="000",
            submit_date="2019-06-08T16:52:32Z",
            done_date="2019-06-08T16:52:37Z",
            sub=1,
            dlvrd=1,
            text="Hello World",
        ),
        status="delivered",
        submit_id="64567564356765435676",
        id_mode="auto",
    ),
    ReceiptCase(
        # A developer's blog post quoting the receipt an SMSC sent (err 075 = ESME_RINVDSTNPI).
        name="blog_undeliv_err_075",
        source="https://e-com-net.com/article/2299106.htm",
        short_message=b"id:0911897980 sub:001 dlvrd:000 submit date:1201121551 "
        b"done date:1201121551 stat:UNDELIV err:075 text:-PROFILE",
        expected=_r(
            "0911897980",
            "UNDELIV",
            err="075",
            submit_date="2012-01-12T15:51:00Z",
            done_date="2012-01-12T15:51:00Z",
            sub=1,
            dlvrd=0,
            text="-PROFILE",
        ),
        status="undelivered",
    ),
    ReceiptCase(
        # Stack Overflow question 8754853 "SMPP delivery report": no text field at all.
        name="stackoverflow_no_text_field",
        source="https://stackoverflow.com/questions/8754853/smpp-delivery-report",
        short_message=b"id:40072910491427628 sub:001 dlvrd:001 submit date:1007291049 "
        b"done date:1007291049 stat:DELIVRD err:000",
        expected=_r(
            "40072910491427628",
            "DELIVRD",
            err="000",
            submit_date="2010-07-29T10:49:00Z",
            done_date="2010-07-29T10:49:00Z",
            sub=1,
            dlvrd=1,
        ),
        status="delivered",
    ),
    # --- cloudhopper-smpp DeliveryReceiptTest (twitter-archive/cloudhopper-smpp) -------------
    ReceiptCase(
        name="cloudhopper_parse_short_message",
        source="twitter-archive/cloudhopper-smpp DeliveryReceiptTest.parseShortMessage",
        short_message=b"id:0123456789 sub:002 dlvrd:001 submit date:1005232039 "
        b"done date:1005242339 stat:DELIVRD err:012 text:This is a sample mes",
        expected=_r(
            "0123456789",
            "DELIVRD",
            err="012",
            submit_date="2010-05-23T20:39:00Z",
            done_date="2010-05-24T23:39:00Z",
            sub=2,
            dlvrd=1,
            text="This is a sample mes",
        ),
        status="delivered",
    ),
    ReceiptCase(
        # "example receipt from smsc simulator (checks case sensitivity)": SMPPSim's `Text:`.
        name="cloudhopper_smppsim_capital_text",
        source="twitter-archive/cloudhopper-smpp DeliveryReceiptTest (SMPPSim receipt)",
        short_message=b"id:4 sub:001 dlvrd:001 submit date:1006020051 done date:1006020051 "
        b"stat:DELIVRD err:000 Text:Hello",
        expected=_r(
            "4",
            "DELIVRD",
            err="000",
            submit_date="2010-06-02T00:51:00Z",
            done_date="2010-06-02T00:51:00Z",
            sub=1,
            dlvrd=1,
            text="Hello",
        ),
        status="delivered",
    ),
    ReceiptCase(
        # parseRealWorldReceipt0: a captured deliver_sm. The text id is decimal, the
        # receipted_message_id TLV hex (0x38601fa == 59113978); the TLV wins.
        name="cloudhopper_real_world_pdu",
        source="twitter-archive/cloudhopper-smpp DeliveryReceiptTest.parseRealWorldReceipt0",
        pdu_hex="000000BA00000005000000000000000200010134343935313336313932300001013430343034"
        "000400000000000000006E69643A30303539313133393738207375623A30303120646C7672643A3030"
        "31207375626D697420646174653A3130303231303137333020646F6E6520646174653A3130303231"
        "303137333120737461743A44454C49565244206572723A30303020746578743A4024232125262F3A"
        "000E0001010006000101001E000833383630316661000427000102",
        expected=_r(
            "38601fa",
            "DELIVRD",
            err="000",
            submit_date="2010-02-10T17:30:00Z",
            done_date="2010-02-10T17:31:00Z",
            sub=1,
            dlvrd=1,
            text="@$#!%&/:",
            message_state=2,
        ),
        status="delivered",
        # SMPP 3.4 §5.3.2.12: receipted_message_id is the id the SMSC gave in submit_sm_resp.
        submit_id="38601fa",
        id_mode="hex_to_dec",
    ),
    ReceiptCase(
        name="cloudhopper_seconds_and_uuid",
        source="twitter-archive/cloudhopper-smpp DeliveryReceiptTest "
        "parseReceiptWithTimestampIncludingSeconds",
        short_message=b"id:74e02ee1-4e2f-4a6e-a78b-4b247d756a22 sub:001 dlvrd:001 "
        b"submit date:110206193041 done date:110206193110 stat:DELIVRD err:000 text:",
        expected=_r(
            "74e02ee1-4e2f-4a6e-a78b-4b247d756a22",
            "DELIVRD",
            err="000",
            submit_date="2011-02-06T19:30:41Z",
            done_date="2011-02-06T19:31:10Z",
            sub=1,
            dlvrd=1,
            text="",
        ),
        status="delivered",
        # Not a number: passes through as text, case-folded (upper-cased here on purpose).
        submit_id="74E02EE1-4E2F-4A6E-A78B-4B247D756A22",
        id_mode="auto",
    ),
    ReceiptCase(
        # parseReceiptWithFieldsOutOfOrder: every field moved, `text:` before `stat:`.
        name="cloudhopper_fields_out_of_order",
        source="twitter-archive/cloudhopper-smpp DeliveryReceiptTest "
        "parseReceiptWithFieldsOutOfOrder",
        short_message=b"sub:001 id:74e02ee1-4e2f-4a6e-a78b-4b247d756a22 err:000 dlvrd:001 "
        b"done date:110206193110 submit date:110206193041 text: stat:DELIVRD",
        expected=_r(
            "74e02ee1-4e2f-4a6e-a78b-4b247d756a22",
            "DELIVRD",
            err="000",
            submit_date="2011-02-06T19:30:41Z",
            done_date="2011-02-06T19:31:10Z",
            sub=1,
            dlvrd=1,
            text="",
        ),
        status="delivered",
    ),
    ReceiptCase(
        # parseShortMessageWith11DigitLongMessageId + toMessageIdAsHexString: 98765432101 is
        # "16fee0e525" in hex.
        name="cloudhopper_enroute_11_digit_id",
        source="twitter-archive/cloudhopper-smpp DeliveryReceiptTest "
        "parseShortMessageWith11DigitLongMessageId",
        short_message=b"id:98765432101 sub:000 dlvrd:000 submit date:1001010000 "
        b"done date:1001010000 stat:ENROUTE err:000 text:",
        expected=_r(
            "98765432101",
            "ENROUTE",
            err="000",
            submit_date="2010-01-01T00:00:00Z",
            done_date="2010-01-01T00:00:00Z",
            sub=0,
            dlvrd=0,
            text="",
        ),
        status=None,
        submit_id="16fee0e525",
        id_mode="hex_to_dec",
    ),
    ReceiptCase(
        # parseReceiptWithMissingSubAndDlvrdFields: no sub/dlvrd, YYYYMMDDhhmmss dates, err:0.
        name="cloudhopper_missing_sub_dlvrd_14_digit_dates",
        source="twitter-archive/cloudhopper-smpp DeliveryReceiptTest "
        "parseReceiptWithMissingSubAndDlvrdFields",
        short_message=b"id:2E179B310EDE971B2760C72B7F026E1B submit date:20110314181534 "
        b"done date:20110314181741 stat:DELIVRD err:0",
        expected=_r(
            "2E179B310EDE971B2760C72B7F026E1B",
            "DELIVRD",
            err="0",
            submit_date="2011-03-14T18:15:34Z",
            done_date="2011-03-14T18:17:41Z",
        ),
        status="delivered",
        submit_id="2e179b310ede971b2760c72b7f026e1b",
        id_mode="auto",
    ),
    # --- jsmpp -------------------------------------------------------------------------------
    ReceiptCase(
        name="jsmpp_decomposer_lower_case_text",
        source="opentelecoms-org/jsmpp delivery receipt decomposer test parseTextWithLowerCase",
        short_message=b"id:0123456789 sub:001 dlvrd:001 submit date:0809011130 "
        b"done date:0809011131 stat:DELIVRD err:000 text:testing jsmpp bow",
        expected=_r(
            "0123456789",
            "DELIVRD",
            err="000",
            submit_date="2008-09-01T11:30:00Z",
            done_date="2008-09-01T11:31:00Z",
            sub=1,
            dlvrd=1,
            text="testing jsmpp bow",
        ),
        status="delivered",
    ),
    ReceiptCase(
        # "they omit two fields which org.jsmpp.bean.DeliveryReceipt expects (sub and dlvrd)".
        name="jsmpp_issue_62_no_sub_dlvrd",
        source="https://github.com/opentelecoms-org/jsmpp/issues/62",
        short_message=b"id:1526758174 submit date:1701240904 done date:1701240904 "
        b"stat:DELIVRD err:000 text:hellow",
        expected=_r(
            "1526758174",
            "DELIVRD",
            err="000",
            submit_date="2017-01-24T09:04:00Z",
            done_date="2017-01-24T09:04:00Z",
            text="hellow",
        ),
        status="delivered",
    ),
    ReceiptCase(
        name="jsmpp_issue_67_no_sub_dlvrd_no_text",
        source="https://github.com/uudashr/jsmpp/issues/67",
        short_message=b"id:0654354026 submit date:2302101454 done date:2302101454 "
        b"stat:DELIVRD err:000",
        expected=_r(
            "0654354026",
            "DELIVRD",
            err="000",
            submit_date="2023-02-10T14:54:00Z",
            done_date="2023-02-10T14:54:00Z",
        ),
        status="delivered",
    ),
    ReceiptCase(
        # *Reconstructed*: jsmpp's simulator sends the decimal id, zero-padded to 10 digits,
        # for a message whose submit_sm_resp id was hex "33E95179" (maintainer's comment: Kannel
        # then logged "got DLR ... id<870928761>"). Dates: the date.
        name="jsmpp_issue_56_hex_submit_decimal_receipt",
        source="https://github.com/opentelecoms-org/jsmpp/issues/56",
        short_message=b"id:0870928761 sub:001 dlvrd:001 submit date:1610151200 "
        b"done date:1610151200 stat:DELIVRD err:000 text:Hello",
        expected=_r(
            "0870928761",
            "DELIVRD",
            err="000",
            submit_date="2016-10-15T12:00:00Z",
            done_date="2016-10-15T12:00:00Z",
            sub=1,
            dlvrd=1,
            text="Hello",
        ),
        status="delivered",
        submit_id="33E95179",
        id_mode="hex_to_dec",
    ),
    # --- node-smpp ---------------------------------------------------------------------------
    ReceiptCase(
        # USSD over SMPP: `sub:0 dlvrd:28`, two-digit err, `Text:` capitalised.
        name="node_smpp_issue_77_undeliv",
        source="https://github.com/farhadi/node-smpp/issues/77",
        short_message=b"id:45013692 sub:0 dlvrd:28 submit date:1908121157 "
        b"done date:1908121158 stat:UNDELIV err:21 Text:*100#",
        expected=_r(
            "45013692",
            "UNDELIV",
            err="21",
            submit_date="2019-08-12T11:57:00Z",
            done_date="2019-08-12T11:58:00Z",
            sub=0,
            dlvrd=28,
            text="*100#",
        ),
        status="undelivered",
    ),
    ReceiptCase(
        # An SMSC built on node-smpp: text plus receipted_message_id, 12-digit dates.
        name="node_smpp_issue_199_text_and_tlv",
        source="https://github.com/farhadi/node-smpp/issues/199",
        short_message=b"id:0000029095 sub:001 dlvrd:001 submit date:211125034959 "
        b"done date:211125035001 stat:DELIVRD err:000 text:",
        tlvs={RMID: "0000029095"},
        expected=_r(
            "0000029095",
            "DELIVRD",
            err="000",
            submit_date="2021-11-25T03:49:59Z",
            done_date="2021-11-25T03:50:01Z",
            sub=1,
            dlvrd=1,
            text="",
        ),
        status="delivered",
    ),
    # --- ksmppd ------------------------------------------------------------------------------
    ReceiptCase(
        # "operator dlr message is as follows": the `stat:` key is missing, the word is bare.
        name="ksmppd_issue_108_operator_bare_stat",
        source="https://github.com/kneodev/ksmppd/issues/108",
        short_message=b"id:ce5bc5a9-4f7d-4282-9244-2e1022a9335c sub:000 dlvrd:000 "
        b"submit date:180903120815 done date:180903120816 DELIVRD err:000 Text:",
        expected=_r(
            "ce5bc5a9-4f7d-4282-9244-2e1022a9335c",
            "DELIVRD",
            err="000",
            submit_date="2018-09-03T12:08:15Z",
            done_date="2018-09-03T12:08:16Z",
            sub=0,
            dlvrd=0,
            text="",
        ),
        status="delivered",
    ),
    ReceiptCase(
        # The receipt ksmppd itself generated for its client in the same issue.
        name="ksmppd_issue_108_generated",
        source="https://github.com/kneodev/ksmppd/issues/108",
        short_message=b"id:7d093bfa-4d65-4757-b0bb-177fc9d0a038 sub:001 dlvrd:001 "
        b"submit date:180903120232 done date:180903121447 stat:DELIVRD err:000 text:",
        expected=_r(
            "7d093bfa-4d65-4757-b0bb-177fc9d0a038",
            "DELIVRD",
            err="000",
            submit_date="2018-09-03T12:02:32Z",
            done_date="2018-09-03T12:14:47Z",
            sub=1,
            dlvrd=1,
            text="",
        ),
        status="delivered",
    ),
    # --- Kannel and GoIP gateways (somleng/sms-gateway receipt parser tests) -----------------
    ReceiptCase(
        # "parses delivery receipt from Kannel": 10-digit submit date, 12-digit done date.
        name="kannel_mixed_date_lengths",
        source="somleng/sms-gateway smpp_delivery_receipt tests (Kannel receipt)",
        short_message=b"id:5516a151-4970-45b6-b73e-95aefdb11cbf sub:001 dlvrd:001 "
        b"submit date:2302231414 done date:230223194211 stat:DELIVRD err:000 text:Hello",
        expected=_r(
            "5516a151-4970-45b6-b73e-95aefdb11cbf",
            "DELIVRD",
            err="000",
            submit_date="2023-02-23T14:14:00Z",
            done_date="2023-02-23T19:42:11Z",
            sub=1,
            dlvrd=1,
            text="Hello",
        ),
        status="delivered",
    ),
    ReceiptCase(
        name="goip_enroute",
        source="somleng/sms-gateway smpp_delivery_receipt tests (GoIP sent receipt)",
        short_message=b"id:4791967 sub:0 dlvrd:1 submit date:2302281329 done date:2302281329 "
        b"stat:ENROUTE err:0 Text:Hello World from out",
        expected=_r(
            "4791967",
            "ENROUTE",
            err="0",
            submit_date="2023-02-28T13:29:00Z",
            done_date="2023-02-28T13:29:00Z",
            sub=0,
            dlvrd=1,
            text="Hello World from out",
        ),
        status=None,
    ),
    ReceiptCase(
        name="goip_undeliv_err_500",
        source="somleng/sms-gateway smpp_delivery_receipt tests (GoIP failed receipt)",
        short_message=b"id:88316820 sub:0 dlvrd:0 submit date:2302281324 done date:2302281325 "
        b"stat:UNDELIV err:500 Text:Hello World from out",
        expected=_r(
            "88316820",
            "UNDELIV",
            err="500",
            submit_date="2023-02-28T13:24:00Z",
            done_date="2023-02-28T13:25:00Z",
            sub=0,
            dlvrd=0,
            text="Hello World from out",
        ),
        status="undelivered",
    ),
    ReceiptCase(
        # "handles unsupported message": the same receipt without any stat.
        name="goip_without_stat",
        source="somleng/sms-gateway smpp_delivery_receipt tests (unsupported message)",
        short_message=b"id:88316820 sub:0 dlvrd:0 submit date:2302281324 done date:2302281325 "
        b"err:500 Text:Hello World from out",
        expected=None,
        reason="no stat",
    ),
    # --- RestComm ----------------------------------------------------------------------------
    ReceiptCase(
        # Trailing spaces after `text:none`.
        name="restcomm_telestax_trailing_spaces",
        source="RestComm/Restcomm-Connect TelestaxDlrParserTest.parseDLRMessageTest",
        short_message=b"id:0000058049 sub:001 dlvrd:001 submit date:1805170144 "
        b"done date:1805170144 stat:DELIVRD err:000 text:none                ",
        expected=_r(
            "0000058049",
            "DELIVRD",
            err="000",
            submit_date="2018-05-17T01:44:00Z",
            done_date="2018-05-17T01:44:00Z",
            sub=1,
            dlvrd=1,
            text="none",
        ),
        status="delivered",
    ),
    ReceiptCase(
        name="restcomm_invalid",
        source="RestComm/Restcomm-Connect TelestaxDlrParserTest.parseInvalidDLR",
        short_message=b"submit date:invaliddate stat:invalidStat",
        expected=None,
        reason="no message id",
    ),
    # --- Apache Camel SMPP component (SmppBindingTest) ---------------------------------------
    ReceiptCase(
        name="camel_err_not_a_number",
        source="apache/camel SmppBindingTest.createSmppMessageFromDeliveryReceipt...",
        short_message=b"id:2 sub:001 dlvrd:001 submit date:0908312310 done date:0908312311 "
        b"stat:DELIVRD err:xxx Text:Hello SMPP world!",
        expected=_r(
            "2",
            "DELIVRD",
            err="xxx",
            submit_date="2009-08-31T23:10:00Z",
            done_date="2009-08-31T23:11:00Z",
            sub=1,
            dlvrd=1,
            text="Hello SMPP world!",
        ),
        status="delivered",
    ),
    ReceiptCase(
        # ...WithPayloadInOptionalParameter: the receipt text in message_payload, no
        # short_message.
        name="camel_receipt_in_message_payload",
        source="apache/camel SmppBindingTest "
        "createSmppMessageFromDeliveryReceiptWithPayloadInOptionalParameter",
        tlvs={
            PAYLOAD: b"id:2 sub:001 dlvrd:001 submit date:0908312310 done date:0908312311 "
            b"stat:DELIVRD err:xxx Text:Hello SMPP world!"
        },
        expected=_r(
            "2",
            "DELIVRD",
            err="xxx",
            submit_date="2009-08-31T23:10:00Z",
            done_date="2009-08-31T23:11:00Z",
            sub=1,
            dlvrd=1,
            text="Hello SMPP world!",
        ),
        status="delivered",
    ),
    ReceiptCase(
        # ...WithoutShortMessageShouldNotThrowException: a receipt esm_class, a vendor TLV,
        # nothing to read.
        name="camel_receipt_without_anything",
        source="apache/camel SmppBindingTest "
        "createSmppMessageFromDeliveryReceiptWithoutShortMessageShouldNotThrowException",
        tlvs={0x2153: b"\x00\x00"},
        expected=None,
        reason="no message id",
    ),
    # --- Jasmin ------------------------------------------------------------------------------
    ReceiptCase(
        # *Reconstructed* from jasmin/protocols/smpp/operations.py getReceipt(): the deliver_sm
        # receipts Jasmin sends ("id:%s submit date:%s done date:%s stat:%s err:%s", no
        # sub/dlvrd/text) with receipted_message_id and message_state; Jasmin ids are UUIDs.
        name="jasmin_deliver_sm_receipt",
        source="jookies/jasmin jasmin/protocols/smpp/operations.py SMPPOperationFactory.getReceipt",
        short_message=f"id:{UUID_JASMIN} submit date:2302281329 done date:2302281330 "
        "stat:DELIVRD err:000".encode(),
        tlvs={RMID: UUID_JASMIN, STATE: 2},
        expected=_r(
            UUID_JASMIN,
            "DELIVRD",
            err="000",
            submit_date="2023-02-28T13:29:00Z",
            done_date="2023-02-28T13:30:00Z",
            message_state=2,
        ),
        status="delivered",
    ),
    ReceiptCase(
        # getReceipt() with dlr_pdu != 'deliver_sm' and issue #139 ("receipts are sent through
        # data_sm pdus"): TLVs only, no text.
        name="jasmin_data_sm_tlv_only",
        source="https://github.com/jookies/jasmin/issues/139",
        command="data_sm",
        tlvs={RMID: UUID_JASMIN, STATE: c.MESSAGE_STATE_UNDELIVERABLE},
        expected=_r(UUID_JASMIN, "UNDELIV", message_state=5),
        status="undelivered",
    ),
    ReceiptCase(
        # Issue #885: Jasmin's ACCEPTD receipt on a successful submit_sm_resp
        # (smpp_receipt_on_success_submit_sm_resp), message_state 6: not final.
        name="jasmin_accepted_on_submit_sm_resp",
        source="https://github.com/jookies/jasmin/issues/885",
        short_message=f"id:{UUID_JASMIN} submit date:2009171420 done date:2009171420 "
        "stat:ACCEPTD err:000".encode(),
        tlvs={RMID: UUID_JASMIN, STATE: c.MESSAGE_STATE_ACCEPTED},
        expected=_r(
            UUID_JASMIN,
            "ACCEPTD",
            err="000",
            submit_date="2020-09-17T14:20:00Z",
            done_date="2020-09-17T14:20:00Z",
            message_state=6,
        ),
        status=None,
    ),
    ReceiptCase(
        # Issue #70 "DLR parsing not working with clickatell smpp connector": the deliver_sm
        # content quoted; 32-hex id, 12-digit dates.
        name="jasmin_issue_70_clickatell",
        source="https://github.com/jookies/jasmin/issues/70",
        short_message=b"id:a29f6845555647139e5c8f3b817f2c9a sub:001 dlvrd:001 "
        b"submit date:141023215253 done date:141023215259 stat:DELIVRD err:000 text:",
        expected=_r(
            "a29f6845555647139e5c8f3b817f2c9a",
            "DELIVRD",
            err="000",
            submit_date="2014-10-23T21:52:53Z",
            done_date="2014-10-23T21:52:59Z",
            sub=1,
            dlvrd=1,
            text="",
        ),
        status="delivered",
    ),
    ReceiptCase(
        # Jasmin PDU tests, test_any_network_error_code ("Related to #117"): a captured PDU
        # with network_error_code 03 00 00, message_state and a UUID receipted_message_id.
        name="jasmin_issue_117_captured_pdu",
        source="jookies/jasmin PDU decoding tests test_any_network_error_code (issue #117)",
        pdu_hex="000000f3000000050000000000000001000101343931353235363739343838370001013034"
        "303531333036393939000400000000000000008569643a62633539623861612d326664322d3430"
        "33352d383131332d313933303165303530303739207375623a30303120646c7672643a30303120"
        "7375626d697420646174653a31353035303831343430353820646f6e6520646174653a31353035"
        "303831343430353820737461743a44454c49565244206572723a30303020746578743a2d042300"
        "030300000427000102001e002562633539623861612d326664322d343033352d383131332d3139"
        "3330316530353030373900",
        expected=_r(
            "bc59b8aa-2fd2-4035-8113-19301e050079",
            "DELIVRD",
            err="000",
            submit_date="2015-05-08T14:40:58Z",
            done_date="2015-05-08T14:40:58Z",
            sub=1,
            dlvrd=1,
            text="-",
            message_state=2,
            network_error_code=b"\x03\x00\x00",
        ),
        status="delivered",
    ),
    ReceiptCase(
        # Jasmin PDU tests, test_deliver_sm_with_message_payload: empty short_message, the
        # text in message_payload with a trailing NUL, hex receipted_message_id "6aad5" for
        # the decimal text id 0000436949.
        name="jasmin_message_payload_captured_pdu",
        source="jookies/jasmin PDU decoding tests test_deliver_sm_with_message_payload",
        pdu_hex="0000009200000005000000000001693c000000323136353335323037303300000037373838"
        "00040000000001000000000424004f69643a30303030343336393439207375626d697420646174"
        "653a3135303432313135303820646f6e6520646174653a31353034323131353038207374617"
        "43a44454c49565244206572723a30303000001e00063661616435000427000102",
        expected=_r(
            "6aad5",
            "DELIVRD",
            err="000",
            submit_date="2015-04-21T15:08:00Z",
            done_date="2015-04-21T15:08:00Z",
            message_state=2,
        ),
        status="delivered",
        submit_id="6aad5",
        id_mode="hex_to_dec",
    ),
    ReceiptCase(
        # Jasmin PDU tests, test_unknown_tag_value_0x1454 ("Related to #322"): 4-digit err,
        # network_error_code plus two vendor TLVs, no message_state.
        name="jasmin_issue_322_vendor_tlvs",
        source="jookies/jasmin PDU decoding tests test_unknown_tag_value_0x1454 (issue #322)",
        pdu_hex="000000c9000000050000000003088101000101393731353634313034303934000500534b59"
        "54454c45434f4d000400000000000000007b69643a31343531303033313533323032323439353720"
        "7375623a30303120646c7672643a303031207375626d697420646174653a31353130303331373332"
        "20646f6e6520646174653a3135313030333137333220737461743a44454c49565244206572723a30"
        "30303020746578743a5465737420286d65686469290423000303000014540004000000011418000400"
        "000030",
        expected=_r(
            "145100315320224957",
            "DELIVRD",
            err="0000",
            submit_date="2015-10-03T17:32:00Z",
            done_date="2015-10-03T17:32:00Z",
            sub=1,
            dlvrd=1,
            text="Test (mehdi)",
            network_error_code=b"\x03\x00\x00",
        ),
        status="delivered",
    ),
    ReceiptCase(
        # Jasmin PDU tests, test_unknown_tag_value_0x60D ("Related to #325"): upper-case hex
        # id in text and TLV, text full of `=`, vendor TLVs.
        name="jasmin_issue_325_vendor_tlvs",
        source="jookies/jasmin PDU decoding tests test_unknown_tag_value_0x60D (issue #325)",
        pdu_hex="000000de0000000500000000569d3e36000000333532363931363030343033000000300004"
        "00000000000000008569643a3444313943383343207375623a30303120646c7672643a30303120"
        "7375626d697420646174653a3135313030393031303520646f6e6520646174653a313531303039"
        "3031303520737461743a44454c49565244206572723a3030303020746578743a4757323530204d"
        "43433d323730204d4e433d312042696c6c696e674d4e433d31001e0009344431394338334300000e"
        "000101060d000731323730303100060f000532373030310427000102",
        expected=_r(
            "4D19C83C",
            "DELIVRD",
            err="0000",
            submit_date="2015-10-09T01:05:00Z",
            done_date="2015-10-09T01:05:00Z",
            sub=1,
            dlvrd=1,
            text="GW250 MCC=270 MNC=1 BillingMNC=1",
            message_state=2,
        ),
        status="delivered",
        submit_id="4d19c83c",
        id_mode="hex_to_dec",
    ),
    ReceiptCase(
        # *Reconstructed* around issue #1034's log: submit_sm_resp id '39f99dd5' (hex), the
        # receipt's id 0972660181 (the same number in decimal, zero-padded). Dates: the log's.
        name="jasmin_issue_1034_hex_submit_decimal_receipt",
        source="https://github.com/jookies/jasmin/issues/1034",
        short_message=b"id:0972660181 sub:001 dlvrd:001 submit date:2203031741 "
        b"done date:2203031741 stat:DELIVRD err:000 text:",
        expected=_r(
            "0972660181",
            "DELIVRD",
            err="000",
            submit_date="2022-03-03T17:41:00Z",
            done_date="2022-03-03T17:41:00Z",
            sub=1,
            dlvrd=1,
            text="",
        ),
        status="delivered",
        submit_id="39f99dd5",
        id_mode="hex_to_dec",
    ),
    ReceiptCase(
        # *Reconstructed* around issue #586's log: 64-bit hex submit_sm_resp id
        # 812FC7470000001B, receipt id 9308878062554710043 (the same number). Dates: the log's.
        name="jasmin_issue_586_64_bit_ids",
        source="https://github.com/jookies/jasmin/issues/586",
        short_message=b"id:9308878062554710043 sub:001 dlvrd:001 submit date:1706011145 "
        b"done date:1706011145 stat:DELIVRD err:000 text:",
        expected=_r(
            "9308878062554710043",
            "DELIVRD",
            err="000",
            submit_date="2017-06-01T11:45:00Z",
            done_date="2017-06-01T11:45:00Z",
            sub=1,
            dlvrd=1,
            text="",
        ),
        status="delivered",
        submit_id="812FC7470000001B",
        id_mode="hex_to_dec",
    ),
    ReceiptCase(
        # *Reconstructed* around issue #535's log: "Got a DLR for an unknown message id:
        # 281605133 (coded:10C8F40D)"; under auto mode both forms meet.
        name="jasmin_issue_535_auto_mode",
        source="https://github.com/jookies/jasmin/issues/535",
        short_message=b"id:281605133 sub:001 dlvrd:000 submit date:1703011359 "
        b"done date:1703011359 stat:UNDELIV err:001 text:",
        expected=_r(
            "281605133",
            "UNDELIV",
            err="001",
            submit_date="2017-03-01T13:59:00Z",
            done_date="2017-03-01T13:59:00Z",
            sub=1,
            dlvrd=0,
            text="",
        ),
        status="undelivered",
        submit_id="10C8F40D",
        id_mode="auto",
    ),
    ReceiptCase(
        # Issue #1129: the provider's hex id with leading zeros, same form in submit_sm_resp
        # and receipt ("unknown message id: 00B8BE19 (coded:B8BE19)"). *Reconstructed* text.
        name="jasmin_issue_1129_leading_zeros",
        source="https://github.com/jookies/jasmin/issues/1129",
        short_message=b"id:00B8BE19 sub:001 dlvrd:001 submit date:2308241200 "
        b"done date:2308241201 stat:DELIVRD err:000 text:",
        expected=_r(
            "00B8BE19",
            "DELIVRD",
            err="000",
            submit_date="2023-08-24T12:00:00Z",
            done_date="2023-08-24T12:01:00Z",
            sub=1,
            dlvrd=1,
            text="",
        ),
        status="delivered",
        submit_id="B8BE19",
        id_mode="as_is",
    ),
    ReceiptCase(
        # *Reconstructed* from issue #181: Jasmin once wrote message_state names (DELIVERED,
        # UNDELIVERABLE, ...) into `stat:` instead of the seven-letter words.
        name="jasmin_issue_181_full_word_stat",
        source="https://github.com/jookies/jasmin/issues/181",
        short_message=f"id:{UUID_JASMIN} sub:001 dlvrd:000 submit date:1506031200 "
        "done date:1506031201 stat:UNDELIVERABLE err:000 text:".encode(),
        expected=_r(
            UUID_JASMIN,
            "UNDELIV",
            err="000",
            submit_date="2015-06-03T12:00:00Z",
            done_date="2015-06-03T12:01:00Z",
            sub=1,
            dlvrd=0,
            text="",
        ),
        status="undelivered",
    ),
    # --- Clickatell ----------------------------------------------------------------------------
    ReceiptCase(
        # *Reconstructed* from Clickatell's SMPP TLV documentation: network_error_code is
        # network type 0x03 plus a two-octet Clickatell code (11: subscriber roaming error),
        # with message_state; here without any text. Id form as in jasmin issue #70.
        name="clickatell_tlv_only_network_error",
        source="https://docs.clickatell.com/archive/channels/sms-smpp-api-archived/"
        "smpp-api-standard-optional-parameters-tlvs/",
        tlvs={
            RMID: "a29f6845555647139e5c8f3b817f2c9a",
            STATE: c.MESSAGE_STATE_UNDELIVERABLE,
            NEC: b"\x03\x00\x0b",
        },
        expected=_r(
            "a29f6845555647139e5c8f3b817f2c9a",
            "UNDELIV",
            err="011",
            message_state=5,
            network_error_code=b"\x03\x00\x0b",
        ),
        status="undelivered",
    ),
    ReceiptCase(
        # php-smpp issue #70: the receipt its regex refused ("err:0000", an ESC inside the
        # text) with network_error_code 03 00 00 and vendor TLVs 0x1454 / 0x1418.
        name="php_smpp_issue_70_four_digit_err",
        source="https://github.com/onlinecity/php-smpp/issues/70",
        short_message=b"id:117062714244798261 sub:001 dlvrd:001 submit date:1706271624 "
        b"done date:1706271624 stat:DELIVRD err:0000 text:H\x1bello world",
        tlvs={NEC: b"\x03\x00\x00", 0x1454: b"\x00\x00\x00\x01", 0x1418: b"\x00\x00\x00\x00"},
        expected=_r(
            "117062714244798261",
            "DELIVRD",
            err="0000",
            submit_date="2017-06-27T16:24:00Z",
            done_date="2017-06-27T16:24:00Z",
            sub=1,
            dlvrd=1,
            text="H\x1bello world",
            network_error_code=b"\x03\x00\x00",
        ),
        status="delivered",
    ),
    ReceiptCase(
        # *Reconstructed*: php-smpp issue #29 asks whether "err: 0" (a space after the colon)
        # and irregular spacing occur; the issue #70 receipt with such spacing.
        name="php_smpp_issue_29_extra_spaces",
        source="https://github.com/onlinecity/php-smpp/issues/29",
        short_message=b"id:117062714244798261  sub:001  dlvrd:001 submit date: 1706271624 "
        b"done date:1706271624   stat: DELIVRD err: 0 text:Hello world",
        expected=_r(
            "117062714244798261",
            "DELIVRD",
            err="0",
            submit_date="2017-06-27T16:24:00Z",
            done_date="2017-06-27T16:24:00Z",
            sub=1,
            dlvrd=1,
            text="Hello world",
        ),
        status="delivered",
    ),
    # --- other libraries' fixtures -----------------------------------------------------------
    ReceiptCase(
        # org.bulatnig.smpp DeliveryReceipt parser, javadoc examples: ACCEPTD, `dlvrd:0`.
        name="bulatnig_acceptd",
        source="bulatnig smpp Java library, org.bulatnig.smpp.pdu.impl DeliveryReceipt javadoc",
        short_message=b"id:c449ab9744f47b6af1879e49e75e4f40 sub:001 dlvrd:0 "
        b"submit date:0610191018 done date:0610191018 stat:ACCEPTD err:0 text:This is an Acti",
        expected=_r(
            "c449ab9744f47b6af1879e49e75e4f40",
            "ACCEPTD",
            err="0",
            submit_date="2006-10-19T10:18:00Z",
            done_date="2006-10-19T10:18:00Z",
            sub=1,
            dlvrd=0,
            text="This is an Acti",
        ),
        status=None,
    ),
    ReceiptCase(
        name="bulatnig_rejectd",
        source="bulatnig smpp Java library, org.bulatnig.smpp.pdu.impl DeliveryReceipt javadoc",
        short_message=b"id:b756c4f97aa2e1e67377dffc5e2f7d9b sub:001 dlvrd:0 "
        b"submit date:0610191211 done date:0610191211 stat:REJECTD err:1 text:This is an Acti",
        expected=_r(
            "b756c4f97aa2e1e67377dffc5e2f7d9b",
            "REJECTD",
            err="1",
            submit_date="2006-10-19T12:11:00Z",
            done_date="2006-10-19T12:11:00Z",
            sub=1,
            dlvrd=0,
            text="This is an Acti",
        ),
        status="rejected",
    ),
    ReceiptCase(
        # smppex issue #46: dates in the SMPP absolute time format (YYMMDDhhmmss t nn +),
        # +12 quarter hours = UTC+3.
        name="smppex_issue_46_absolute_time_dates",
        source="https://github.com/funbox/smppex/issues/46",
        short_message=b"id:rdwjwxns18krxr9936ey96ymcw sub:000 dlvrd:000 "
        b"submit date:180711070003912+ done date:180711070000012+ stat:UNDELIV err:000",
        expected=_r(
            "rdwjwxns18krxr9936ey96ymcw",
            "UNDELIV",
            err="000",
            submit_date="2018-07-11T04:00:03Z",
            done_date="2018-07-11T04:00:00Z",
            sub=0,
            dlvrd=0,
        ),
        status="undelivered",
    ),
    ReceiptCase(
        # vumi's SMPP transport tests (stat:FAILED handling, vumi PR #897 "SMPP delivery report
        # regex status field too strict ... we've received `stat:FAILED`"): `sub:...`.
        name="vumi_stat_failed",
        source="praekeltfoundation/vumi vumi/transports/smpp/tests (stat:FAILED, PR #897)",
        short_message=b"id:foo sub:... dlvrd:... submit date:200101010030 "
        b"done date:200101020030 stat:FAILED err:042 text:Meep",
        expected=_r(
            "foo",
            "UNDELIV",
            err="042",
            submit_date="2020-01-01T01:00:30Z",
            done_date="2020-01-01T02:00:30Z",
            text="Meep",
        ),
        status="undelivered",
    ),
    ReceiptCase(
        # *Reconstructed*: vumi PR #635 "at least one network operator ... sends UCS-2 encoded
        # delivery reports"; the Appendix B text in UTF-16-BE with data_coding 8.
        name="vumi_ucs2_encoded_receipt",
        source="https://github.com/praekeltfoundation/vumi/pull/635",
        data_coding=0x08,
        short_message="id:5ae2f8a1 sub:001 dlvrd:001 submit date:1310271200 "
        "done date:1310271201 stat:DELIVRD err:000 text:Привет".encode("utf-16-be"),
        expected=_r(
            "5ae2f8a1",
            "DELIVRD",
            err="000",
            submit_date="2013-10-27T12:00:00Z",
            done_date="2013-10-27T12:01:00Z",
            sub=1,
            dlvrd=1,
            text="Привет",
        ),
        status="delivered",
    ),
    ReceiptCase(
        # An Elixir SMSC simulator built on SMPPEX (module Exmc.Pdu.delivery_report): NaiveDateTime
        # dates ("2024-03-21 12:00:00"), `stat:DELIVERED`, `err:600`, `TEXT:`, and the TLVs.
        name="smppex_simulator_iso_dates_full_word",
        source="public GitHub code: Exmc.Pdu.delivery_report (SMPPEX-based SMSC simulator)",
        short_message=b"id:1711022400000000000 sub:001 dlvrd:001 submit date:2024-03-21 12:00:00 "
        b"done date:2024-03-21 12:00:00 stat:DELIVERED err:600 TEXT:",
        tlvs={STATE: 2, RMID: "1711022400000000000"},
        expected=_r(
            "1711022400000000000",
            "DELIVRD",
            err="600",
            submit_date="2024-03-21T12:00:00Z",
            done_date="2024-03-21T12:00:00Z",
            sub=1,
            dlvrd=1,
            text="",
            message_state=2,
        ),
        status="delivered",
    ),
    ReceiptCase(
        # A Go DLR parser's test table ("case-insensitive-long-stat"): mixed-case keys, the
        # full word DELIVERED, a hex digit in err.
        name="go_parser_mixed_case_keys",
        source="public GitHub code: Go SMPP course, code/dlr receipt tests "
        "(case-insensitive-long-stat)",
        short_message=b"ID:0D9A2F Sub:001 Dlvrd:001 Submit Date:2607181200 "
        b"Done Date:2607181201 Stat:DELIVERED Err:00A Text:OK",
        expected=_r(
            "0D9A2F",
            "DELIVRD",
            err="00A",
            submit_date="2026-07-18T12:00:00Z",
            done_date="2026-07-18T12:01:00Z",
            sub=1,
            dlvrd=1,
            text="OK",
        ),
        status="delivered",
        submit_id="0d9a2f",
        id_mode="dec_to_hex",
    ),
    ReceiptCase(
        # *Reconstructed*: Adobe's SMPP documentation notes "Field names are case insensitive";
        # an all-upper-case receipt (values from the Appendix B example above).
        name="upper_case_keys",
        source="Adobe Campaign Classic documentation, SR text field format (case-insensitive "
        "field names)",
        short_message=b"ID:1234567890 SUB:001 DLVRD:000 SUBMIT DATE:1608011415 "
        b"DONE DATE:1608011417 STAT:UNDELIV ERR:001 TEXT:HELLO ADOBE WORLD",
        expected=_r(
            "1234567890",
            "UNDELIV",
            err="001",
            submit_date="2016-08-01T14:15:00Z",
            done_date="2016-08-01T14:17:00Z",
            sub=1,
            dlvrd=0,
            text="HELLO ADOBE WORLD",
        ),
        status="undelivered",
    ),
    ReceiptCase(
        # *Reconstructed*: the underscored key spelling (submit_date / done_date) as in
        # python-smpplib PR #90's parsed receipt, with that PR's values.
        name="underscored_date_keys",
        source="https://github.com/python-smpplib/python-smpplib/pull/90",
        short_message=b"id:6C7C7DE28BB3E961947700000000FE37 sub:001 dlvrd:000 "
        b"submit_date:1907311208 done_date:1907311208 stat:UNDELIV err:001 "
        b"text:Ceci est un tet.",
        expected=_r(
            "6C7C7DE28BB3E961947700000000FE37",
            "UNDELIV",
            err="001",
            submit_date="2019-07-31T12:08:00Z",
            done_date="2019-07-31T12:08:00Z",
            sub=1,
            dlvrd=0,
            text="Ceci est un tet.",
        ),
        status="undelivered",
    ),
    ReceiptCase(
        # *Reconstructed*: Appendix B's text is "the first 20 characters of the short message",
        # so the subscriber's own words can look like fields; they must stay text.
        name="text_containing_stat",
        source="SMPP 3.4 Appendix B (text: first characters of the original message)",
        short_message=b"id:1234567890 sub:001 dlvrd:000 submit date:1608011415 "
        b"done date:1608011417 stat:UNDELIV err:001 Text:stat:DELIVRD id:99 err:0",
        expected=_r(
            "1234567890",
            "UNDELIV",
            err="001",
            submit_date="2016-08-01T14:15:00Z",
            done_date="2016-08-01T14:17:00Z",
            sub=1,
            dlvrd=0,
            text="stat:DELIVRD id:99 err:0",
        ),
        status="undelivered",
    ),
    ReceiptCase(
        # Intermediate delivery notification (SMPP 3.4 §5.2.12, esm_class 0x20) in the Vonage
        # format: never final.
        name="intermediate_notification_enroute",
        source="SMPP 3.4 §5.2.12 intermediate notification; Vonage receipt format",
        esm_class=c.ESM_CLASS_INTERMEDIATE_NOTIFICATION,
        short_message=b"id:0000000012345678 sub:001 dlvrd:000 submit date:1601010100 "
        b"done date:1601010100 stat:ENROUTE err:000 text:none",
        tlvs={RMID: "0000000012345678", STATE: c.MESSAGE_STATE_ENROUTE},
        expected=_r(
            "0000000012345678",
            "ENROUTE",
            err="000",
            submit_date="2016-01-01T01:00:00Z",
            done_date="2016-01-01T01:00:00Z",
            sub=1,
            dlvrd=0,
            text="none",
            message_state=1,
            intermediate=True,
        ),
        status=None,
    ),
    ReceiptCase(
        # Expired: 8x8's documented message states (DELIVRD, EXPIRED, UNDELIV, ACCEPTD,
        # UNKNOWN, ENROUTE, REJECTD) in its documented template; *reconstructed* values.
        name="eight_by_eight_expired",
        source="https://developer.8x8.com/connect/docs/smpp-delivery-receipts",
        short_message=b"id:3c6bd5c1-9f11-4e70-a9b3-37b41d3b1cb2 sub:001 dlvrd:000 "
        b"submit date:2311020800 done date:2311030800 stat:EXPIRED err:254 Text:Your code",
        expected=_r(
            "3c6bd5c1-9f11-4e70-a9b3-37b41d3b1cb2",
            "EXPIRED",
            err="254",
            submit_date="2023-11-02T08:00:00Z",
            done_date="2023-11-03T08:00:00Z",
            sub=1,
            dlvrd=0,
            text="Your code",
        ),
        status="expired",
    ),
    ReceiptCase(
        # Karix (via IBM's Acoustic Campaign docs) and 8x8 document the same template;
        # *reconstructed* UNKNOWN and DELETED instances, mapped to `undelivered`.
        name="karix_unknown",
        source="https://www.ibm.com/docs/SSWU4L/Mobile/imc_Mobile/Mobile_q_a_watson_assistant/"
        "SMPP_Karix_delivery_report_SMPP.html",
        short_message=b"id:2107081716 sub:001 dlvrd:000 submit date:2107081716 "
        b"done date:2107091716 stat:UNKNOWN err:000 Text:Dear customer",
        expected=_r(
            "2107081716",
            "UNKNOWN",
            err="000",
            submit_date="2021-07-08T17:16:00Z",
            done_date="2021-07-09T17:16:00Z",
            sub=1,
            dlvrd=0,
            text="Dear customer",
        ),
        status="undelivered",
    ),
    ReceiptCase(
        name="karix_deleted",
        source="https://www.ibm.com/docs/SSWU4L/Mobile/imc_Mobile/Mobile_q_a_watson_assistant/"
        "SMPP_Karix_delivery_report_SMPP.html",
        short_message=b"id:2107081717 sub:001 dlvrd:000 submit date:2107081717 "
        b"done date:2107081730 stat:DELETED err:000 Text:Dear customer",
        expected=_r(
            "2107081717",
            "DELETED",
            err="000",
            submit_date="2021-07-08T17:17:00Z",
            done_date="2021-07-08T17:30:00Z",
            sub=1,
            dlvrd=0,
            text="Dear customer",
        ),
        status="undelivered",
    ),
    ReceiptCase(
        # Our own simulator (connector/simulator/smsc.py): hex ids in submit_sm_resp, receipt
        # ids forced to decimal (--receipt-id-format dec), TLVs with network_error_code.
        name="own_simulator_decimal_receipt",
        source="connector/simulator/smsc.py SimSmsc._receipt (receipt_id_format='dec')",
        short_message=b"id:6232732 sub:001 dlvrd:000 submit date:2611261300 "
        b"done date:2611261300 stat:UNDELIV err:001 text:hello",
        tlvs={RMID: "6232732", STATE: 5, NEC: b"\x01\x00\x01"},
        expected=_r(
            "6232732",
            "UNDELIV",
            err="001",
            submit_date="2026-11-26T13:00:00Z",
            done_date="2026-11-26T13:00:00Z",
            sub=1,
            dlvrd=0,
            text="hello",
            message_state=5,
            network_error_code=b"\x01\x00\x01",
        ),
        status="undelivered",
        submit_id="5f1a9c",
        id_mode="hex_to_dec",
    ),
    # --- what cannot be read ------------------------------------------------------------------
    ReceiptCase(
        # Kannel devel list, 2003: a large UK carrier's "new DLR format" (CSV, no id at all).
        name="kannel_devel_csv_receipt",
        source="https://www.mail-archive.com/devel@kannel.org/msg02229.html",
        short_message=b"00,0210021543,0210021500,,447887123456,10110200000000,"
        b"we2345678i9o03er45ty67u",
        expected=None,
        reason="no message id",
    ),
    ReceiptCase(
        # The Appendix B template itself, as printed in carrier docs (Karix, 8x8, Cardboardfish,
        # SerwerSMS), sent verbatim by a misconfigured SMSC: `stat:DDDDDDD` means nothing.
        name="appendix_b_template_verbatim",
        source="http://www.cardboardfish.com/support/bin/view/Main/"
        "WhatIsTheFormatOfSMPPDeliveryReceipts",
        short_message=b"id:IIIIIIIIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm "
        b"done date:YYMMDDhhmm stat:DDDDDDD err:E Text: . . . . . . . . .",
        expected=None,
        reason="unknown stat 'DDDDDDD'",
    ),
    ReceiptCase(
        # *Reconstructed* from Esendex's (CDYNE's) documented receipt fields, sample values
        # included: `stat` "DELIVERED TO CARRIER" is a hand-off to the carrier, not a handset
        # delivery, and must not be read as DELIVERED.
        name="esendex_delivered_to_carrier",
        source="https://esendex.us/docs/sms-api/api/types/SMSDeliveryReceipt",
        short_message=b"id:18579674100201040 sub:001 dlvrd:001 submit date:1209281334 "
        b"done date:1209281334 stat:DELIVERED TO CARRIER err:003 text:",
        expected=None,
        reason="unknown stat 'DELIVERED TO CARRIER'",
    ),
    ReceiptCase(
        # node-smpp issue #140's third attempt: `id:` never appears (the author wrote "text:"
        # where the id key belongs) and the done date is empty.
        name="node_smpp_issue_140_broken",
        source="https://github.com/farhadi/node-smpp/issues/140",
        short_message=b"message text:8b0e4c51 sub:001 dlvrd:0 submit date:2007281200 "
        b"done date: stat:ACCEPTD err:000",
        expected=None,
        reason="no message id",
    ),
)

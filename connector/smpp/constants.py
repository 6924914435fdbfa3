"""SMPP 3.4 wire constants: command ids, command_status values and TLV tags.

The numbers come from smpplib's tables (one source of truth, not a hand copy); this module
gives them typed names spelled as the spec spells them, plus the name and description
lookups that logs and status events need.
"""

from __future__ import annotations

from typing import Final

from smpplib import command_codes as _command_codes
from smpplib import consts as _consts

_COMMANDS: Final[dict[str, int]] = dict(_command_codes.commands)
_STATUSES: Final[dict[str, int]] = {
    name[len("SMPP_") :]: value
    for name, value in vars(_consts).items()
    if name.startswith("SMPP_ESME_") and isinstance(value, int)
}
_TLVS: Final[dict[str, int]] = dict(_consts.OPTIONAL_PARAMS)


def _cmd(name: str) -> int:
    return _COMMANDS[name]


def _st(name: str) -> int:
    return _STATUSES[name]


def _tag(name: str) -> int:
    return _TLVS[name]


# --- command ids (SMPP 3.4 §5.1.2.1) -----------------------------------------------------------
GENERIC_NACK: Final = _cmd("generic_nack")
BIND_RECEIVER: Final = _cmd("bind_receiver")
BIND_RECEIVER_RESP: Final = _cmd("bind_receiver_resp")
BIND_TRANSMITTER: Final = _cmd("bind_transmitter")
BIND_TRANSMITTER_RESP: Final = _cmd("bind_transmitter_resp")
QUERY_SM: Final = _cmd("query_sm")
QUERY_SM_RESP: Final = _cmd("query_sm_resp")
SUBMIT_SM: Final = _cmd("submit_sm")
SUBMIT_SM_RESP: Final = _cmd("submit_sm_resp")
DELIVER_SM: Final = _cmd("deliver_sm")
DELIVER_SM_RESP: Final = _cmd("deliver_sm_resp")
UNBIND: Final = _cmd("unbind")
UNBIND_RESP: Final = _cmd("unbind_resp")
REPLACE_SM: Final = _cmd("replace_sm")
REPLACE_SM_RESP: Final = _cmd("replace_sm_resp")
CANCEL_SM: Final = _cmd("cancel_sm")
CANCEL_SM_RESP: Final = _cmd("cancel_sm_resp")
BIND_TRANSCEIVER: Final = _cmd("bind_transceiver")
BIND_TRANSCEIVER_RESP: Final = _cmd("bind_transceiver_resp")
OUTBIND: Final = _cmd("outbind")
ENQUIRE_LINK: Final = _cmd("enquire_link")
ENQUIRE_LINK_RESP: Final = _cmd("enquire_link_resp")
SUBMIT_MULTI: Final = _cmd("submit_multi")
SUBMIT_MULTI_RESP: Final = _cmd("submit_multi_resp")
ALERT_NOTIFICATION: Final = _cmd("alert_notification")
DATA_SM: Final = _cmd("data_sm")
DATA_SM_RESP: Final = _cmd("data_sm_resp")

RESPONSE_BIT: Final = 0x80000000

# --- command_status (SMPP 3.4 §5.1.3) -----------------------------------------------------------
ESME_ROK: Final = _st("ESME_ROK")
ESME_RINVMSGLEN: Final = _st("ESME_RINVMSGLEN")
ESME_RINVCMDLEN: Final = _st("ESME_RINVCMDLEN")
ESME_RINVCMDID: Final = _st("ESME_RINVCMDID")
ESME_RINVBNDSTS: Final = _st("ESME_RINVBNDSTS")
ESME_RALYBND: Final = _st("ESME_RALYBND")
ESME_RINVPRTFLG: Final = _st("ESME_RINVPRTFLG")
ESME_RINVREGDLVFLG: Final = _st("ESME_RINVREGDLVFLG")
ESME_RSYSERR: Final = _st("ESME_RSYSERR")
ESME_RINVSRCADR: Final = _st("ESME_RINVSRCADR")
ESME_RINVDSTADR: Final = _st("ESME_RINVDSTADR")
ESME_RINVMSGID: Final = _st("ESME_RINVMSGID")
ESME_RBINDFAIL: Final = _st("ESME_RBINDFAIL")
ESME_RINVPASWD: Final = _st("ESME_RINVPASWD")
ESME_RINVSYSID: Final = _st("ESME_RINVSYSID")
ESME_RCANCELFAIL: Final = _st("ESME_RCANCELFAIL")
ESME_RREPLACEFAIL: Final = _st("ESME_RREPLACEFAIL")
ESME_RMSGQFUL: Final = _st("ESME_RMSGQFUL")
ESME_RINVSERTYP: Final = _st("ESME_RINVSERTYP")
ESME_RINVESMCLASS: Final = _st("ESME_RINVESMCLASS")
ESME_RSUBMITFAIL: Final = _st("ESME_RSUBMITFAIL")
ESME_RINVSRCTON: Final = _st("ESME_RINVSRCTON")
ESME_RINVSRCNPI: Final = _st("ESME_RINVSRCNPI")
ESME_RINVDSTTON: Final = _st("ESME_RINVDSTTON")
ESME_RINVDSTNPI: Final = _st("ESME_RINVDSTNPI")
ESME_RINVSYSTYP: Final = _st("ESME_RINVSYSTYP")
ESME_RINVREPFLAG: Final = _st("ESME_RINVREPFLAG")
ESME_RINVNUMMSGS: Final = _st("ESME_RINVNUMMSGS")
ESME_RTHROTTLED: Final = _st("ESME_RTHROTTLED")
ESME_RINVSCHED: Final = _st("ESME_RINVSCHED")
ESME_RINVEXPIRY: Final = _st("ESME_RINVEXPIRY")
ESME_RINVDFTMSGID: Final = _st("ESME_RINVDFTMSGID")
ESME_RX_T_APPN: Final = _st("ESME_RX_T_APPN")
ESME_RX_P_APPN: Final = _st("ESME_RX_P_APPN")
ESME_RX_R_APPN: Final = _st("ESME_RX_R_APPN")
ESME_RQUERYFAIL: Final = _st("ESME_RQUERYFAIL")
ESME_RINVOPTPARSTREAM: Final = _st("ESME_RINVOPTPARSTREAM")
ESME_ROPTPARNOTALLWD: Final = _st("ESME_ROPTPARNOTALLWD")
ESME_RINVPARLEN: Final = _st("ESME_RINVPARLEN")
ESME_RMISSINGOPTPARAM: Final = _st("ESME_RMISSINGOPTPARAM")
ESME_RINVOPTPARAMVAL: Final = _st("ESME_RINVOPTPARAMVAL")
ESME_RDELIVERYFAILURE: Final = _st("ESME_RDELIVERYFAILURE")
ESME_RUNKNOWNERR: Final = _st("ESME_RUNKNOWNERR")

# --- TLV tags (SMPP 3.4 §5.3.2) -----------------------------------------------------------------
TAG_DEST_ADDR_SUBUNIT: Final = _tag("dest_addr_subunit")
TAG_DEST_NETWORK_TYPE: Final = _tag("dest_network_type")
TAG_DEST_BEARER_TYPE: Final = _tag("dest_bearer_type")
TAG_DEST_TELEMATICS_ID: Final = _tag("dest_telematics_id")
TAG_SOURCE_ADDR_SUBUNIT: Final = _tag("source_addr_subunit")
TAG_SOURCE_NETWORK_TYPE: Final = _tag("source_network_type")
TAG_SOURCE_BEARER_TYPE: Final = _tag("source_bearer_type")
TAG_SOURCE_TELEMATICS_ID: Final = _tag("source_telematics_id")
TAG_QOS_TIME_TO_LIVE: Final = _tag("qos_time_to_live")
TAG_PAYLOAD_TYPE: Final = _tag("payload_type")
TAG_ADDITIONAL_STATUS_INFO_TEXT: Final = _tag("additional_status_info_text")
TAG_RECEIPTED_MESSAGE_ID: Final = _tag("receipted_message_id")
TAG_MS_MSG_WAIT_FACILITIES: Final = _tag("ms_msg_wait_facilities")
TAG_PRIVACY_INDICATOR: Final = _tag("privacy_indicator")
TAG_SOURCE_SUBADDRESS: Final = _tag("source_subaddress")
TAG_DEST_SUBADDRESS: Final = _tag("dest_subaddress")
TAG_USER_MESSAGE_REFERENCE: Final = _tag("user_message_reference")
TAG_USER_RESPONSE_CODE: Final = _tag("user_response_code")
TAG_SOURCE_PORT: Final = _tag("source_port")
TAG_DESTINATION_PORT: Final = _tag("destination_port")
TAG_SAR_MSG_REF_NUM: Final = _tag("sar_msg_ref_num")
TAG_LANGUAGE_INDICATOR: Final = _tag("language_indicator")
TAG_SAR_TOTAL_SEGMENTS: Final = _tag("sar_total_segments")
TAG_SAR_SEGMENT_SEQNUM: Final = _tag("sar_segment_seqnum")
TAG_SC_INTERFACE_VERSION: Final = _tag("sc_interface_version")
TAG_CALLBACK_NUM_PRES_IND: Final = _tag("callback_num_pres_ind")
TAG_CALLBACK_NUM_ATAG: Final = _tag("callback_num_atag")
TAG_NUMBER_OF_MESSAGES: Final = _tag("number_of_messages")
TAG_CALLBACK_NUM: Final = _tag("callback_num")
TAG_DPF_RESULT: Final = _tag("dpf_result")
TAG_SET_DPF: Final = _tag("set_dpf")
TAG_MS_AVAILABILITY_STATUS: Final = _tag("ms_availability_status")
TAG_NETWORK_ERROR_CODE: Final = _tag("network_error_code")
TAG_MESSAGE_PAYLOAD: Final = _tag("message_payload")
TAG_DELIVERY_FAILURE_REASON: Final = _tag("delivery_failure_reason")
TAG_MORE_MESSAGES_TO_SEND: Final = _tag("more_messages_to_send")
TAG_MESSAGE_STATE: Final = _tag("message_state")
TAG_USSD_SERVICE_OP: Final = _tag("ussd_service_op")
TAG_DISPLAY_TIME: Final = _tag("display_time")
TAG_SMS_SIGNAL: Final = _tag("sms_signal")
TAG_MS_VALIDITY: Final = _tag("ms_validity")
TAG_ALERT_ON_MESSAGE_DELIVERY: Final = _tag("alert_on_message_delivery")
TAG_ITS_REPLY_TYPE: Final = _tag("its_reply_type")
TAG_ITS_SESSION_INFO: Final = _tag("its_session_info")

# --- esm_class bits (SMPP 3.4 §5.2.12) ----------------------------------------------------------
ESM_CLASS_MESSAGE_TYPE_MASK: Final = 0x3C
ESM_CLASS_SMSC_DELIVERY_RECEIPT: Final = 0x04
ESM_CLASS_SME_DELIVERY_ACK: Final = 0x08
ESM_CLASS_SME_MANUAL_ACK: Final = 0x10
ESM_CLASS_CONVERSATION_ABORT: Final = 0x18
ESM_CLASS_INTERMEDIATE_NOTIFICATION: Final = 0x20
ESM_CLASS_UDHI: Final = 0x40
ESM_CLASS_REPLY_PATH: Final = 0x80

# --- message_state values (SMPP 3.4 §5.2.28) ----------------------------------------------------
MESSAGE_STATE_ENROUTE: Final = 1
MESSAGE_STATE_DELIVERED: Final = 2
MESSAGE_STATE_EXPIRED: Final = 3
MESSAGE_STATE_DELETED: Final = 4
MESSAGE_STATE_UNDELIVERABLE: Final = 5
MESSAGE_STATE_ACCEPTED: Final = 6
MESSAGE_STATE_UNKNOWN: Final = 7
MESSAGE_STATE_REJECTED: Final = 8

SMPP_VERSION_34: Final = 0x34

COMMAND_NAMES: Final[dict[int, str]] = {code: name for name, code in _COMMANDS.items()}
STATUS_NAMES: Final[dict[int, str]] = {code: name for name, code in _STATUSES.items()}
STATUS_DESCRIPTIONS: Final[dict[int, str]] = dict(_consts.DESCRIPTIONS)
TLV_NAMES: Final[dict[int, str]] = {tag: name for name, tag in _TLVS.items()}
TLV_TAGS: Final[dict[str, int]] = dict(_TLVS)


def command_name(command_id: int) -> str:
    """Spec name of a command id, or its hex form when unknown (for logs and errors)."""
    return COMMAND_NAMES.get(command_id, f"0x{command_id:08X}")


def status_name(command_status: int) -> str:
    """Spec name of a command_status (`ESME_RTHROTTLED`), or its hex form when unknown."""
    return STATUS_NAMES.get(command_status, f"0x{command_status:08X}")


def status_description(command_status: int) -> str:
    """Human description of a command_status, as smpplib's table words it."""
    return STATUS_DESCRIPTIONS.get(command_status, "Reserved or vendor-specific error")

from __future__ import annotations

import threading
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feedbackml.text import Redactor, is_valid_id_card, normalize, redact, segment, words


class TestNormalize:
    @given(st.text())
    @settings(max_examples=400)
    def test_idempotent_and_total(self, text: str) -> None:
        once = normalize(text)
        assert normalize(once) == once

    @given(st.text())
    @settings(max_examples=200)
    def test_no_invisible_or_doubled_whitespace(self, text: str) -> None:
        result = normalize(text)
        assert result == result.strip()
        assert "  " not in result
        assert not any(unicodedata.category(c) in {"Cc", "Cf", "Cs"} for c in result)

    def test_fullwidth_and_compatibility_forms(self) -> None:
        assert normalize("ＫＰＩ　考核１２３") == "KPI 考核123"
        assert normalize("流程\u200b太慢\ufeff了") == "流程太慢了"
        assert normalize("第一行\r\n\t第二行") == "第一行 第二行"

    def test_keeps_characters_whose_compatibility_form_changes_meaning(self) -> None:
        assert normalize("面积100m²,完成½") == "面积100m²,完成½"
        assert normalize("①流程慢 ②没人管") == "①流程慢 ②没人管"

    def test_chinese_text_unchanged(self) -> None:
        text = "采购部推说与我无关。审批要走五个节点!"
        assert normalize(text) == text


class TestSegment:
    def test_offsets_point_into_the_text(self) -> None:
        text = "采购部总是推诿扯皮,IT系统也不通"
        pieces = segment(text)
        assert pieces, "segmentation returned nothing"
        for piece in pieces:
            assert text[piece.start : piece.end] == piece.word
        assert "采购部" in words(text) or "采购" in words(text)

    def test_empty_and_whitespace(self) -> None:
        assert segment("") == []
        assert words("   ") == []

    def test_thread_safe(self) -> None:
        text = "跨部门协作的时候接口人形同虚设"
        expected = words(text)
        results: list[list[str]] = []

        def work() -> None:
            for _ in range(20):
                results.append(words(text))

        threads = [threading.Thread(target=work) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(results) == 80
        assert all(result == expected for result in results)


class TestRedact:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("有事打我电话13912345678", "有事打我电话[手机号]"),
            ("手机 139 1234 5678 随时", "手机 [手机号] 随时"),
            ("+86-138-0013-8000找我", "[手机号]找我"),
            ("邮件发 zhang.wei@example.com.cn 就行", "邮件发 [邮箱] 就行"),
            ("@王经理 你看下这个单子", "[提及] 你看下这个单子"),
            ("@李主任看一下审批", "[提及]看一下审批"),
            ("@刘总监 @Kevin_APAC 请确认", "[提及] [提及] 请确认"),
            ("群里@所有人再加三个感叹号", "群里[提及]再加三个感叹号"),
            ("@李晓娜说不归她管", "[提及]说不归她管"),
            ("我工号A10382,审批卡了三周", "我工号[工号],审批卡了三周"),
            ("员工编号: 00231456", "员工编号: [工号]"),
            ("身份证110101199003074477被HR贴到群里了", "身份证[身份证]被HR贴到群里了"),
            ("我的工号是E10234,有问题找我", "我的工号是[工号],有问题找我"),
            ("打010-62345678转123找人事", "打[座机]找人事"),
            ("座机(0755)2345678一直没人接", "座机[座机]一直没人接"),
            ("报修电话 021 58761234", "报修电话 [座机]"),
            ("加我微信号：zhang_san88", "加我微信号：[微信号]"),
            ("vx: abcdef12 私聊", "vx: [微信号] 私聊"),
            ("WeChat ID: li_si_2024", "WeChat ID: [微信号]"),
        ],
    )
    def test_masks_personal_data(self, text: str, expected: str) -> None:
        assert redact(text) == expected

    @pytest.mark.parametrize(
        "text",
        [
            "工单号2023091512345678要跟进",  # not a phone number: longer digit run
            "订单12345678901234567X",  # 18 characters but checksum fails
            "预算1390万,人手只有12个",
            "2024-12-31交付,延期到2025-01-15",  # dates are not landlines
            "订单0101234567已取消",  # 010 + a local number starting 1: not a landline
            "微信群里说了三遍没人理",  # no ID after the label
            "wxyzabc123 是系统账号",  # 'wx' inside a word is no label
            "金额0.5万,工号还没分配",  # a label without an ID
        ],
    )
    def test_leaves_other_numbers(self, text: str) -> None:
        assert redact(text) == text

    def test_invalid_id_checksum_not_masked(self) -> None:
        assert not is_valid_id_card("110101199003074478")
        assert is_valid_id_card("110101199003074477")
        assert redact("号码110101199003074478") == "号码110101199003074478"

    def test_email_is_not_a_mention(self) -> None:
        assert "[提及]" not in redact("发到 li@corp.cn")

    def test_custom_employee_id_pattern(self) -> None:
        redactor = Redactor(employee_id_pattern=r"E\d{6}")
        assert redact("E123456 提交的单子没人批", redactor) == "[工号] 提交的单子没人批"

    def test_bad_pattern_is_a_clear_error(self) -> None:
        with pytest.raises(ValueError, match="not a valid regular expression"):
            Redactor(employee_id_pattern="(")


def test_traditional_characters_become_simplified() -> None:
    from feedbackml.text import normalize

    assert normalize("報銷流程太慢，財務部門總是推諉") == normalize("报销流程太慢，财务部门总是推诿")
    assert normalize("后来的干部") == "后来的干部"  # simplified text is left as it is

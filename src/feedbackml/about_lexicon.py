"""The built-in lexicon of department and function names, written by hand from how Chinese comments name them.

Each line is a canonical name and its aliases (space-separated, an indented line going on; English
forms match case-insensitively on word boundaries, ``_`` standing for a space). ``STRICT`` aliases are also
everyday words (质量 the attribute, 市场 the market, 生产 in 生产力): they count only where the text shows a
party (a suffix, a role, 那边, a verb of speech, a list of departments).
"""

from __future__ import annotations

_LEXICON = """
采购部: 采购 采购部 采购部门 采购中心 采购处 采购科 采购组 采购经理 集采 集团采购 物资部 招标办 procurement
    purchasing sourcing
财务部: 财务 财务部 财务部门 财务处 财务科 财务中心 财务组 财务BP 财务总监 计划财务部 计财部 会计 出纳 税务组
    资金部 finance FP&A
共享中心: 共享中心 财务共享中心 共享财务中心 共享服务中心 人力共享中心 SSC GBS
IT部: IT IT部 IT部门 IT组 IT中心 IT服务台 IT_helpdesk helpdesk 信息部 信息中心 信息科 信息处 信息技术部
    信息科技部 科技部 信息化部 数字化部 网管 regional_IT local_IT
运维: 运维 运维部 运维组 SRE infra
人力资源部: 人事 人事部 人事部门 人事处 人事科 人力 人力部 人力资源 人力资源部 人资 HR HR部 HRBP 招聘组 薪酬组
    human_resources
培训部: 培训部 培训中心 培训组 学习发展部 L&D
法务部: 法务 法务部 法务组 法律部 法律事务部 法律合规部 legal 诉讼组 诉讼团队
合规部: 合规 合规部 合规部门 compliance 反洗钱部
风控部: 风控 风控部 风控部门 风险部 风险管理部 风险 risk
审计部: 审计 审计部 稽核部 纪检 audit
行政部: 行政 行政部 行政部门 行政处 行政前台 综合办 综合部 综合办公室 总务处 总务科 admin
后勤: 后勤 后勤处 后勤部 后勤保障部 后勤科
院办: 院办 医院办公室 厂办 校办 校长办公室 总裁办 党办
总部: 总部 总公司 总部职能部门 HQ headquarters 集团 集团总部 公司总部 本部 公司本部 机关 公司机关 总行
分公司: 分公司 子公司 地市公司 地市分公司 省公司 区域公司 海外子公司
分行: 分行 支行 网点 营业网点
区域: 区域 大区 区域经理 区域总 区域总经理 区域总部 regional regional_team APAC 亚太 RHQ
督导: 督导 区域督导 巡店
门店: 门店 店面 各门店 店长
生产部: 生产 生产部 生产部门 生产车间 生产主管 生产副总 制造部 production manufacturing
工厂: 工厂 厂里 factory plant
计划部: 计划 计划部 生产计划部 PMC 物控
供应链: 供应链 供应链部 supply_chain
质量部: 质量 质量部 质量部门 质量经理 品质 品质部 品管 品管部 品保 质检 质检部 质检组 品控 品控部 质管部
    质控科 QA QC IQC IPQC OQC QE quality
研发部: 研发 研发部 研发部门 研发中心 研发团队 R&D 开发 开发部 开发团队
技术部: 技术 技术部 技术部门 技术中心 技术支持
测试: 测试 测试组 测试部 测试团队
产品部: 产品 产品部 产品团队 产品中心 产品经理
项目部: 项目部 项目组 项目经理 项目管理部 PMO PM
销售部: 销售 销售部 销售部门 销售团队 销售总监 业务员 sales
营销部: 营销 营销部 营销中心 营销团队
市场部: 市场 市场部 市场部门 市场营销部 市场总监 marketing
品牌部: 品牌部 传播部 宣传部 公关部 PR
客服部: 客服 客服部 客服中心 客户服务部 客服团队 客服组 呼叫中心 customer_service
售后: 售后 售后部 售后服务部
仓储部: 仓库 仓储 仓储部 仓管 库房 仓储中心 海外仓 区域仓 warehouse
物流部: 物流 物流部 物流部门 配送 配送中心 运输部 车队 干线车队 分拨中心 logistics
工程部: 工程 工程部 工程管理部 工程师团队 engineering
设备部: 设备 设备部 设备科 设备处 设备组 机修 设备维修
工艺部: 工艺 工艺部 工艺组
安全部: 安全部 安监 安监部 安环部 安质部 EHS 安全团队 环保部 HSE
保卫处: 保卫处 保卫科 保安 保安队 安保
运营部: 运营 运营部 运营中心 运营团队 营运 营运部 operations ops
设计部: 设计 设计部 设计院 设计组 设计中心 设计团队
成本部: 成本 成本部 成本中心 造价
商务部: 商务 商务部 招商
业务部门: 业务部门 业务方 业务线 业务组 业务部 前台业务部门 用人部门 需求方 业务
职能部门: 职能部门 后台 中后台 机关各部门
中台: 中台 数据中台 技术中台
数据部: 数据部 数据组 数据团队 数据平台 数据平台组 数据中心 BI
医学部: 医学部 医学事务部 医学 medical
注册部: 注册部 注册 RA
医务科: 医务科 医务处
护理部: 护理部 护士长
药剂科: 药剂科 药房 药学部
检验科: 检验科 化验室 实验室
医保办: 医保办
院感科: 院感科
手术室: 手术室 麻醉科
临床科室: 临床 临床科室 科室
教务处: 教务 教务处 教务部 教学部 教学秘书
学工处: 学工 学工处 学生处
科研处: 科研处
招生办: 招生 招生办
工会: 工会
党群部: 党群部 党群部门 党委 党群
机务部: 机务 机务部
签派: 签派 签派室 运控 运控中心
调度: 调度 调度中心 调度室
地服: 地服 地面服务部
核保: 核保 核保部 核赔 理赔 理赔部
信用卡中心: 信用卡中心
商品部: 商品部 商品中心 选品
防损部: 防损 防损部
中央厨房: 中央厨房 中厨
后厨: 后厨 厨房 厨师长
前厅: 前厅 前厅部
客房部: 客房部 客房
物业: 物业 物业公司 物业经理
监理: 监理
事业部: 事业部
"""

# Everyday words first, departments second: matched only with a sign of a party around them.
_STRICT_WORDS = """
质量 品质 生产 计划 市场 产品 运营 营运 业务 设计 技术 工程 成本 设备 区域 开发 测试 临床 科室 医学 商务 招生
工艺 调度 风险 注册 审计 会计 集团 机关 本部 业务部门 业务方 业务线 业务组 业务部 项目组 项目经理 营销 配送
供应链 后台 工厂 安保 厨房 客房 物业 PM RA BI PR ops quality production engineering operations risk plant
factory
"""
STRICT = frozenset(_STRICT_WORDS.split())


def builtin_lexicon() -> dict[str, tuple[str, ...]]:
    """Canonical name → its aliases (the canonical name first); ``_`` in an alias stands for a space."""
    lexicon: dict[str, tuple[str, ...]] = {}
    canonical = ""
    for line in _LEXICON.strip().splitlines():
        if not line.startswith(" "):  # an indented line goes on with the name above
            canonical, _, line = line.partition(":")
            lexicon[canonical] = (canonical,)
        aliases = (*lexicon[canonical], *(word.replace("_", " ") for word in line.split()))
        lexicon[canonical] = tuple(dict.fromkeys(aliases))
    return lexicon

#!/usr/bin/env python3
"""Synthetic, realistic catalog files for the benchmarks (standard library; openpyxl only for xlsx).

    gen_catalog.py --departments DEPTS.tsv --entries N [--items-min A --items-max B] --out FILE.{json,csv,xlsx}

DEPTS.tsv: one department a line, `id<TAB>credit_code<TAB>name` (from GET /api/v1/departments). Entries are
spread round-robin-ish (seeded random) over the departments; each entry's provider is given by its credit code,
which is what `shuqiao catalog import` uses to pick the department.

Names are composed from word lists (region + subject + object + suffix), so that a text search hits a subset:
`户籍` a few percent of the entries, `企业 登记` more, `不动产` and `社会保险 参保` others. Codes are left to the
platform (only the class is given) unless --code-base is given. Deterministic for a given --seed.
"""

import argparse
import csv
import json
import random
import sys

REGIONS = ["", "", "", "全省", "石家庄市", "唐山市", "秦皇岛市", "邯郸市", "邢台市", "保定市", "张家口市", "承德市",
           "沧州市", "廊坊市", "衡水市", "雄安新区", "定州市", "辛集市"]
# (subject, typical objects) — the pairs read like real resource names.
SUBJECTS = {
    "企业": ["登记", "年报", "信用", "许可", "处罚", "纳税", "参保", "资质", "经营异常"],
    "个体工商户": ["登记", "年报", "许可", "信用"],
    "居民": ["户籍", "身份证", "居住证", "婚姻登记", "出生登记", "死亡登记", "参保", "医保结算"],
    "流动人口": ["居住登记", "户籍", "就业登记"],
    "社会保险": ["参保", "缴费", "待遇发放", "关系转移"],
    "医疗保障": ["参保", "结算", "定点机构", "待遇"],
    "住房公积金": ["缴存", "提取", "贷款"],
    "不动产": ["登记", "抵押", "查封", "权属", "交易"],
    "土地": ["供应", "出让", "利用现状", "征收"],
    "建设工程": ["规划许可", "施工许可", "竣工验收", "质量监督"],
    "房屋": ["网签备案", "租赁", "安全鉴定"],
    "机动车": ["登记", "检验", "违法", "保险"],
    "驾驶人": ["驾驶证", "违法记分", "考试"],
    "道路运输": ["经营许可", "从业人员", "车辆营运证"],
    "药品": ["生产许可", "经营许可", "抽检", "追溯"],
    "食品": ["生产许可", "经营许可", "抽检", "追溯"],
    "医疗机构": ["执业登记", "医师执业", "监督检查"],
    "学校": ["办学许可", "学籍", "招生录取"],
    "学生": ["学籍", "资助", "毕业证书"],
    "社会组织": ["登记", "年检", "信用"],
    "低保": ["对象认定", "资金发放"],
    "残疾人": ["证件", "两项补贴", "康复服务"],
    "退役军人": ["优抚对象", "安置", "就业扶持"],
    "税务": ["登记", "纳税信用", "发票", "欠税"],
    "环境": ["监测", "排污许可", "行政处罚", "信访"],
    "气象": ["观测", "预警", "灾害"],
    "森林": ["资源清查", "防火", "采伐许可"],
    "河湖": ["水质监测", "取水许可", "河长制巡查"],
    "农业": ["补贴", "经营主体", "农机"],
    "安全生产": ["行政许可", "执法检查", "事故"],
    "特种设备": ["使用登记", "检验", "作业人员"],
    "公共资源": ["交易", "招标投标", "政府采购"],
    "法人": ["基础信息", "信用承诺", "变更登记"],
    "电子证照": ["营业执照", "身份证", "结婚证", "不动产权证书", "社会保障卡"],
}
SUFFIXES = ["信息", "信息", "信息", "数据", "明细信息", "统计信息", "台账", "目录"]
QUALIFIERS = ["", "", "", "", "年度", "历史", "实时", "汇总", "变更", "注销"]
PURPOSES = ["政务服务“一网通办”", "跨部门联合监管", "社会信用体系建设", "惠民政策精准落实", "行政审批材料免提交",
            "统计分析和决策支持", "“跨省通办”业务协同", "数据核验和比对", "风险预警和事中事后监管"]
ITEMS = [
    ("统一社会信用代码", "C", 18), ("企业名称", "C", 200), ("法定代表人", "C", 50), ("注册资本", "N", 20),
    ("成立日期", "D", 8), ("登记机关", "C", 100), ("经营范围", "C", 2000), ("住所", "C", 200),
    ("公民身份号码", "C", 18), ("姓名", "C", 50), ("性别", "C", 2), ("民族", "C", 20), ("出生日期", "D", 8),
    ("户籍地址", "C", 200), ("联系电话", "C", 20), ("行政区划代码", "C", 6), ("登记日期", "D", 8),
    ("发证日期", "D", 8), ("有效期截止日期", "D", 8), ("证书编号", "C", 50), ("许可证编号", "C", 50),
    ("许可事项", "C", 200), ("处罚决定书文号", "C", 50), ("处罚事由", "C", 500), ("处罚金额", "Y", 18),
    ("参保险种", "C", 20), ("参保状态", "C", 10), ("缴费基数", "Y", 18), ("缴费月份", "C", 6),
    ("不动产单元号", "C", 28), ("不动产权证书号", "C", 50), ("权利人", "C", 200), ("坐落", "C", 200),
    ("面积", "N", 18), ("用途", "C", 50), ("抵押金额", "Y", 18), ("号牌号码", "C", 15), ("车辆识别代号", "C", 17),
    ("驾驶证号", "C", 18), ("准驾车型", "C", 10), ("学籍号", "C", 30), ("学校名称", "C", 100),
    ("检测项目", "C", 100), ("检测结果", "C", 50), ("监测时间", "T", 14), ("经度", "B", 12), ("纬度", "B", 12),
    ("备注", "M", 4000), ("数据更新时间", "T", 19), ("是否有效", "L", 1), ("金额", "Y", 18), ("人数", "I", 10),
    ("批准文号", "C", 50), ("产品名称", "C", 200), ("生产企业", "C", 200), ("机构名称", "C", 200),
    ("从业人员数", "I", 10), ("信用等级", "C", 10), ("年报年度", "C", 4), ("案件编号", "C", 50),
]
FORMATS = [("数据库", "PostgreSQL"), ("数据库", "达梦"), ("数据库", "KingbaseES"), ("电子表格", "xlsx"),
           ("服务接口", "API"), ("电子文件", "OFD")]
CYCLES = ["realtime", "daily", "daily", "weekly", "monthly", "monthly", "quarterly", "yearly", "irregular"]
GRADES = [None, None, "一般", "一般", "重要", "核心"]


def entry(rng, i, dept):
    subject = rng.choice(list(SUBJECTS))
    obj = rng.choice(SUBJECTS[subject])
    region = rng.choice(REGIONS)
    name = f"{region}{subject}{rng.choice(QUALIFIERS)}{obj}{rng.choice(SUFFIXES)}"
    # A serial number keeps names unique (and makes a few very specific queries possible).
    name = f"{name}（{i:06d}）"
    purpose = rng.choice(PURPOSES)
    summary = f"{region or '全省'}{subject}{obj}相关数据，记录{subject}的{obj}情况，用于{purpose}。"
    lei = rng.choice([1, 2, 3, 3, 3, 3])
    xiang = {1: rng.randint(1, 5), 2: rng.randint(1, 12), 3: rng.randint(1, 99)}[lei]
    mu = rng.randint(1, 30)
    share = rng.choice(["unconditional", "unconditional", "conditional", "conditional", "conditional", "not_shared"])
    if lei == 1:
        share = "unconditional"  # basic items of basic resources must be unconditional
    n_items = rng.randint(ARGS.items_min, ARGS.items_max)
    picked = rng.sample(ITEMS, n_items)
    items = [{"name": n, "data_type": t, "length": ln, "basic": k < 2, "share_type": None,
              "grade": rng.choice(GRADES)} for k, (n, t, ln) in enumerate(picked)]
    fmt = rng.choice(FORMATS)
    modes = {"unconditional": rng.choice([["query", "verify"], ["sync"], ["file"], ["query"]]),
             "conditional": rng.choice([["query", "verify"], ["sync"], ["verify"]]),
             "not_shared": []}[share]
    is_open = share == "unconditional" and rng.random() < 0.4
    e = {
        "class": {"lei": lei, "xiang": xiang, "mu": mu, "ximu": None},
        "name": name,
        "provider": {"name": dept[2], "credit_code": dept[1]},
        "summary": summary,
        "format": {"category": fmt[0], "type": fmt[1]},
        "items": items,
        "share": {
            "type": share,
            "condition": "限于履行法定职责使用，不得向第三方提供" if share == "conditional" else None,
            "legal_basis": "《中华人民共和国个人信息保护法》第三十四条" if share == "not_shared" else None,
            "modes": modes,
        },
        "open": {"open": is_open, "condition": None},
        "update_cycle": rng.choice(CYCLES),
        "related": [],
        "secret": False,
        "grade": rng.choice(GRADES),
    }
    if ARGS.code_base is not None:
        e["code"] = f"{lei}{xiang:02d}{mu:03d}/{ARGS.code_base + i:06d}"
    return e


# Spreadsheet columns: the template's (data/catalog-template-columns.tsv) that the generator fills.
HEADERS = ["信息资源分类（类）", "信息资源分类（项）", "信息资源分类（目）", "信息资源分类（细目）", "信息资源代码",
           "信息资源名称", "信息资源提供方", "提供方内部部门", "信息资源提供方代码", "信息资源摘要", "信息资源格式分类",
           "信息资源格式类型", "信息项名称", "数据类型", "数据长度", "是否基础信息项", "共享类型", "共享条件",
           "不予共享依据", "共享方式分类", "共享方式", "是否向社会开放", "开放条件", "更新周期", "发布日期",
           "关联资源代码", "涉密属性", "数据分级", "信息项数据分级"]
SHARE_ZH = {"unconditional": "无条件共享", "conditional": "有条件共享", "not_shared": "不予共享"}
CYCLE_ZH = {"realtime": "实时", "daily": "每日", "weekly": "每周", "monthly": "每月", "quarterly": "每季度",
            "half_yearly": "每半年", "yearly": "每年", "irregular": "不定期"}


def rows(e):
    """One spreadsheet row per item, the entry's columns repeated (as the template asks)."""
    yn = lambda b: "是" if b else "否"  # noqa: E731
    for it in e["items"]:
        yield [e["class"]["lei"], f'{e["class"]["xiang"]:02d}', f'{e["class"]["mu"]:03d}', "", e.get("code", ""),
               e["name"], e["provider"]["name"], "", e["provider"]["credit_code"], e["summary"],
               e["format"]["category"], e["format"]["type"], it["name"], it["data_type"], it["length"],
               yn(it["basic"]), SHARE_ZH[e["share"]["type"]], e["share"]["condition"] or "",
               e["share"]["legal_basis"] or "", "共享平台", ",".join(e["share"]["modes"]), yn(e["open"]["open"]), "",
               CYCLE_ZH[e["update_cycle"]], "", "", "非涉密", e["grade"] or "", it["grade"] or ""]


def main():
    global ARGS
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--departments", required=True)
    ap.add_argument("--entries", type=int, required=True)
    ap.add_argument("--items-min", type=int, default=3)
    ap.add_argument("--items-max", type=int, default=12)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--code-base", type=int, default=None,
                    help="give full codes CLASS/(BASE+n) instead of letting the platform number the entries")
    ap.add_argument("--out", required=True)
    ARGS = ap.parse_args()
    with open(ARGS.departments, encoding="utf-8") as f:
        depts = [line.rstrip("\n").split("\t") for line in f if line.strip()]
    if not depts:
        sys.exit("no departments")
    rng = random.Random(ARGS.seed)
    entries = [entry(rng, i + 1, rng.choice(depts)) for i in range(ARGS.entries)]
    out = ARGS.out
    if out.endswith(".json"):
        with open(out, "w", encoding="utf-8") as f:
            json.dump(entries, f, ensure_ascii=False)
    elif out.endswith(".csv"):
        with open(out, "w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow(HEADERS)
            for e in entries:
                w.writerows(rows(e))
    elif out.endswith(".xlsx"):
        import openpyxl  # only needed here
        wb = openpyxl.Workbook(write_only=True)
        ws = wb.create_sheet("信息资源目录")
        ws.append(HEADERS)
        for e in entries:
            for r in rows(e):
                ws.append(r)
        wb.save(out)
    else:
        sys.exit("--out must end in .json, .csv or .xlsx")
    n_items = sum(len(e["items"]) for e in entries)
    print(f"{len(entries)} entries, {n_items} items, {len(depts)} departments -> {out}", file=sys.stderr)


if __name__ == "__main__":
    main()

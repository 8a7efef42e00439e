#!/usr/bin/env python3
"""Synthetic `residents` table for bench/gateway.sh: ROWS people with unique, valid GB 11643 ID numbers (河北省
district codes, birth dates 1950–2005, check digit), a name, a mobile number and a household address; the same
columns as scripts/walkthrough-data.sh's sample database. Also writes the ID numbers, one a line, in random order.

    gen_residents.py --rows 100000 --db hukou.db --keys keys.txt
"""
import argparse
import datetime
import random
import sqlite3

W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
DISTRICTS = [
    ("130102", "石家庄市长安区"), ("130104", "石家庄市桥西区"), ("130105", "石家庄市新华区"),
    ("130108", "石家庄市裕华区"), ("130202", "唐山市路南区"), ("130203", "唐山市路北区"),
    ("130302", "秦皇岛市海港区"), ("130402", "邯郸市邯山区"), ("130502", "邢台市襄都区"),
    ("130602", "保定市竞秀区"), ("130606", "保定市莲池区"), ("130702", "张家口市桥东区"),
    ("130802", "承德市双桥区"), ("130902", "沧州市新华区"), ("131002", "廊坊市安次区"),
    ("131102", "衡水市桃城区"),
]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志红梅玉兰晨浩宇欣怡子涵梓萱雨泽博文海燕春雷"
ROADS = ["建设北大街", "中山路", "自强路", "朝阳北大街", "人民西路", "新华路", "胜利北街", "裕华路", "和平路",
         "友谊大街", "东风路", "学府路", "长征街", "光明路", "团结路"]


def id_card(first17: str) -> str:
    return first17 + "10X98765432"[sum(int(c) * w for c, w in zip(first17, W)) % 11]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100000)
    ap.add_argument("--db", required=True)
    ap.add_argument("--keys", required=True)
    ap.add_argument("--seed", type=int, default=2026)
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    start = datetime.date(1950, 1, 1)
    days = (datetime.date(2005, 12, 31) - start).days
    seen = set()
    rows = []
    while len(rows) < a.rows:
        code, place = rnd.choice(DISTRICTS)
        born = start + datetime.timedelta(days=rnd.randrange(days))
        first17 = f"{code}{born:%Y%m%d}{rnd.randrange(1000):03d}"
        if first17 in seen:
            continue
        seen.add(first17)
        name = rnd.choice(SURNAMES) + "".join(rnd.choice(GIVEN) for _ in range(rnd.choice((1, 2))))
        phone = f"1{rnd.choice('3578')}{rnd.randrange(10)}{rnd.randrange(10**8):08d}"
        address = f"河北省{place}{rnd.choice(ROADS)}{rnd.randrange(1, 300)}号"
        rows.append((id_card(first17), name, phone, address, "2026-11-01T08:00:00+08:00"))
    db = sqlite3.connect(a.db)
    db.execute("CREATE TABLE residents (sfzh TEXT PRIMARY KEY, xm TEXT NOT NULL, lxdh TEXT, hjdz TEXT, "
               "updated_at TEXT NOT NULL)")
    db.executemany("INSERT INTO residents VALUES (?, ?, ?, ?, ?)", rows)
    db.commit()
    db.close()
    keys = [r[0] for r in rows]
    rnd.shuffle(keys)
    with open(a.keys, "w") as f:
        f.write("\n".join(keys) + "\n")


if __name__ == "__main__":
    main()
